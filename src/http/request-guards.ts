/**
 * Checks every request meets before its body is read, so that each is answered with a documented
 * status in the `{ error }` shape (docs/API.md, Errors):
 * - an HTTP/1.1 request without `Host`: 400;
 * - an unknown path: 404; a known path with another method: 405 with `Allow`;
 * - a body whose Content-Type the route does not accept (`config.accepts`): 415, whatever the body
 *   holds (a wasm module labelled JSON is a 415, not a JSON syntax error);
 * - Swagger UI's static files are served whole: Range and If-Match style preconditions are dropped,
 *   so they answer 200 or 304 only (no 206, 412, 416).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HttpError, unsupportedMediaType } from './errors.js';

/** Methods by route pattern, collected as routes are added; answers which methods a path has. */
class RouteMethods {
  private readonly routes: Array<{ re: RegExp; methods: Set<string> }> = [];

  add(url: string, methods: string[]): void {
    const source = url
      .split(/(:[A-Za-z0-9_]+|\*)/)
      .map((part) => (part === '*' ? '.*' : part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('');
    const re = new RegExp(`^${source}$`);
    const found = this.routes.find((r) => r.re.source === re.source);
    const set = found?.methods ?? new Set<string>();
    for (const m of methods) set.add(m);
    // a GET route answers HEAD too (Fastify's exposeHeadRoutes)
    if (set.has('GET')) set.add('HEAD');
    if (!found) this.routes.push({ re, methods: set });
  }

  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const r of this.routes) if (r.re.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}

const pathOf = (req: FastifyRequest) => req.url.split('?', 1)[0]!;

/** Whether the request carries a body (a length above 0, or chunks). */
const hasBody = (req: FastifyRequest) => {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/** The media type without its parameters, lowercase ("application/json; charset=utf-8" → "application/json"). */
const essence = (type: string | undefined) => type?.split(';', 1)[0]!.trim().toLowerCase();

export function notFoundOrNotAllowed(req: FastifyRequest, allowed: string[]): HttpError {
  const path = pathOf(req);
  if (allowed.length === 0) {
    return new HttpError(404, 'not_found', `no route ${req.method} ${path}: the routes are listed in docs/API.md and GET /openapi.yaml`);
  }
  return new HttpError(405, 'method_not_allowed', `${req.method} is not allowed on ${path}: use ${allowed.join(', ')}`);
}

/** Registers the checks; call before any route is added (routes are indexed as they come). */
export function registerRequestGuards(app: FastifyInstance): void {
  const index = new RouteMethods();
  app.addHook('onRoute', (route) => {
    index.add(route.url, Array.isArray(route.method) ? route.method : [route.method]);
  });
  app.addHook('onRequest', async (req, reply) => {
    if (req.raw.httpVersion === '1.1' && req.headers.host === undefined) {
      throw new HttpError(400, 'bad_request', 'an HTTP/1.1 request needs a Host header: add one');
    }
    if (req.is404) {
      const allowed = index.allowed(pathOf(req));
      if (allowed.length) reply.header('allow', allowed.join(', '));
      throw notFoundOrNotAllowed(req, allowed);
    }
    const accepts = req.routeOptions.config?.accepts;
    if (accepts && hasBody(req) && !accepts.includes(essence(req.headers['content-type']) ?? '')) throw unsupportedMediaType(req);
    if (pathOf(req).startsWith('/docs/')) {
      for (const h of ['range', 'if-range', 'if-match', 'if-unmodified-since']) delete req.raw.headers[h];
    }
  });
}
