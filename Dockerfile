# wasm-contract-runner: the HTTP service (dist/server.js) on Node.js 20, Debian bookworm slim.
#
#   docker build -t wasm-contract-runner:0.1.0 .
#   docker run -d --name wasm-runner-1 -p 8080:8080 -v wasm-modules:/data --stop-timeout 40 wasm-contract-runner:0.1.0
#
# The image is wasm-contract-runner, tagged with package.json's version: the name deploy/k8s uses.
#
# Three stages:
#   build — all dependencies (`npm ci` runs `prepare` = `tsc -p tsconfig.build.json`, so the sources must
#           be in place before it) → dist/.
#   deps  — production dependencies only: `npm ci --omit=dev --ignore-scripts`. `--ignore-scripts` skips
#           `prepare` (there is no TypeScript here) and is safe: no production dependency has an install
#           script (only esbuild, a dev dependency, has one).
#   runtime — dist/ from build, node_modules/ from deps, the config, the API description, the playground page
#             (public/) and the examples.
#
# Why a separate `npm ci --omit=dev --ignore-scripts` rather than `npm prune --omit=dev` in the build stage:
# both give the same production tree (measured: 30.1 MB, 4,903 files; prune also leaves ~90 kB of empty
# @scope directories of the removed dev packages, which tap, typescript, binaryen, wabt, esbuild … make
# ~300 MB), and as only the final stage is shipped, neither brings npm's cache into the image. The separate
# stage wins on rebuilds: it depends on package*.json alone, so a source change reuses its cached layer
# (and BuildKit runs it in parallel with the tsc build). Installing in the runtime stage itself would be
# worse: npm's cache would stay in that layer unless removed in the same RUN.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
COPY tsconfig.json tsconfig.build.json ./
COPY src/ src/
RUN npm ci --no-audit --no-fund

FROM ${NODE_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    STORE_DIR=/data/modules
WORKDIR /app
# Read-only application files belong to root; the service runs as `node` (uid 1000) and writes only /data.
COPY package.json ./
COPY --from=deps /src/node_modules/ node_modules/
COPY --from=build /src/dist/ dist/
COPY config/ config/
COPY openapi.yaml ./
# the playground page (GET /playground)
COPY public/ public/
COPY examples/wasm/ examples/wasm/
# Hyperledger Iroha's samples (stored at start, not prepared) with their LICENSE and sources
COPY examples/iroha/ examples/iroha/
RUN mkdir -p /data/modules && chown -R node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# No curl in the slim image: Node's own fetch. /health is liveness; use /ready for traffic decisions.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# Exec form: node is PID 1 and gets SIGTERM itself (src/process/shutdown.ts drains in-flight requests, then the
# pool closes). `npm start` would put npm in between.
CMD ["node", "dist/server.js"]
