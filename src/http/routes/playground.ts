/**
 * GET /playground: a page to run a contract and look at its fuel profile as a flame graph
 * (public/playground/, plain browser JavaScript over the HTTP API, no build step). Its files and the two
 * vendor bundles it uses (d3 and d3-flame-graph, from node_modules) are served from an explicit list,
 * read once at registration: no path from the request ever reaches the file system. Open without a
 * token like /docs (src/http/auth.ts): the page holds no secret; the token is typed into the page, which
 * sends it with each API call. Hidden from the OpenAPI document.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { PROJECT_ROOT } from '../../config.js';
import { HttpError } from '../errors.js';

const PAGE_DIR = resolve(PROJECT_ROOT, 'public/playground');
const require = createRequire(import.meta.url);
/** A package's dist/ folder: their `exports` do not list these files, but their entry points are in it. */
const distOf = (pkg: string) => dirname(require.resolve(pkg));

const TYPES = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
} as const;

/** The page's own files change with the service: revalidated each time. The vendor bundles change only with an upgrade. */
const PAGE_CACHE = 'no-cache';
const VENDOR_CACHE = 'public, max-age=86400';

/** The page's scripts and styles only from this origin; the API calls only to it (the page shows what modules log: no inline script runs). */
const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
  cache: string;
}

/** Every file under /playground/: name → where it comes from. Nothing else is served. */
function loadAssets(): Map<string, Asset> {
  const page = (name: string, type: string): [string, Asset] => [name, { body: readFileSync(resolve(PAGE_DIR, name)), type, cache: PAGE_CACHE }];
  const vendor = (name: string, dir: string, file: string): [string, Asset] => [name, { body: readFileSync(resolve(dir, file)), type: TYPES.js, cache: VENDOR_CACHE }];
  return new Map([
    page('index.html', TYPES.html),
    page('playground.js', TYPES.js),
    page('playground.css', TYPES.css),
    // d3's UMD bundle (global `d3`), then d3-flame-graph's (global `flamegraph`; it adds its own CSS to the page)
    vendor('d3.min.js', distOf('d3'), 'd3.min.js'),
    vendor('d3-flamegraph.min.js', distOf('d3-flame-graph'), 'd3-flamegraph.umd.min.js'),
  ]);
}

/**
 * `{ "<sha256>": "kv.wasm", … }`: the bundled examples by hash, so the page can name the modules
 * GET /modules lists (it gives hashes only). Public files of the project; computed on first use.
 */
function exampleNames(): Record<string, string> {
  const names: Record<string, string> = {};
  for (const sub of ['examples/wasm', 'examples/iroha']) {
    let files: string[];
    try {
      files = readdirSync(resolve(PROJECT_ROOT, sub)).filter((f) => f.endsWith('.wasm'));
    } catch {
      continue; // an image without examples
    }
    for (const f of files.sort()) names[createHash('sha256').update(readFileSync(resolve(PROJECT_ROOT, sub, f))).digest('hex')] = f;
  }
  return names;
}

export const playgroundRoute: FastifyPluginAsync = async (app) => {
  const assets = loadAssets();
  let examples: Buffer | null = null;

  const send = (reply: FastifyReply, a: Asset) => {
    reply.type(a.type).header('cache-control', a.cache).header('x-content-type-options', 'nosniff');
    if (a.type === TYPES.html) reply.header('content-security-policy', PAGE_CSP).header('referrer-policy', 'no-referrer');
    return reply.send(a.body);
  };
  const index = async (_req: unknown, reply: FastifyReply) => send(reply, assets.get('index.html')!);

  app.get('/playground', { schema: { hide: true } }, index);
  app.get('/playground/', { schema: { hide: true } }, index);
  app.get<{ Params: { file: string } }>('/playground/:file', { schema: { hide: true } }, async (req, reply) => {
    const { file } = req.params;
    if (file === 'examples.json') {
      examples ??= Buffer.from(JSON.stringify(exampleNames()));
      return send(reply, { body: examples, type: TYPES.json, cache: PAGE_CACHE });
    }
    const a = assets.get(file);
    if (!a) throw new HttpError(404, 'not_found', `no file /playground/${file}: the playground serves ${[...assets.keys(), 'examples.json'].join(', ')}`);
    return send(reply, a);
  });
};
