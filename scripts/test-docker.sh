#!/usr/bin/env bash
# The process-level attack suite (test/e2e/hostile-process.test.ts) against the Docker image:
# builds the image, runs one container on 127.0.0.1 (host networking), points the suite at it, then
# checks that the container is still the one that started (never restarted, never exited).
#
#   npm run test:docker            # needs a running Docker engine
set -euo pipefail
cd "$(dirname "$0")/.."
if ! docker info >/dev/null 2>&1; then
  echo "test:docker: no Docker engine answers (docker info failed): start one, then run this again" >&2
  exit 2
fi
PORT=${PORT:-18080}
# the image's one name (docs/OPERATIONS.md), tagged test: never replaces the 0.1.0 the manifests run
IMAGE=${IMAGE:-wasm-contract-runner:test}
NAME=wasm-runner-hostile-$$
docker build --network host -t "$IMAGE" . >/tmp/$NAME-build.log 2>&1 || { tail -30 /tmp/$NAME-build.log; exit 1; }
docker run -d --rm --network host --name "$NAME" -e PORT="$PORT" -e HOST=127.0.0.1 -e WORKERS=2 -e SEED_EXAMPLES=false "$IMAGE" >/dev/null
trap 'docker stop -t 5 "$NAME" >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 60); do
  node -e "fetch('http://127.0.0.1:$PORT/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" && break
  sleep 0.5
done
started=$(docker inspect -f '{{.State.StartedAt}}' "$NAME")
status=0
WASM_RUNNER_URL="http://127.0.0.1:$PORT" npx tap --disable-coverage test/e2e/hostile-process.test.ts || status=$?
if [ "$(docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' "$NAME" 2>/dev/null)" != "true $started" ]; then
  echo "test:docker: the container stopped or restarted during the suite" >&2
  docker logs "$NAME" 2>&1 | tail -20 >&2 || true
  status=1
fi
exit $status
