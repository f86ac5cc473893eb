/**
 * Optional bearer-token authentication (config `auth`): every request carries
 * `Authorization: Bearer <token>`, compared in constant time, except `GET /health` and `GET /ready`
 * (probes carry no secret, and the answers hold none), the API description (`/docs`, Swagger UI, and `/openapi.yaml`: no secret in them, and
 * a browser cannot send the token to open them), the playground page (`/playground`, its files) and, unless `auth.metrics` is
 * `token`, `GET /metrics`.
 * A request without the right token is answered 401 before its body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { HttpError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** The bearer scheme in the OpenAPI document, required by every operation that does not say otherwise (Swagger UI's "Authorize"). */
export const openApiSecurity = {
  components: {
    securitySchemes: {
      bearerAuth: { type: 'http' as const, scheme: 'bearer', description: 'the service\'s token (config auth.token, env AUTH_TOKEN); not needed when none is set' },
    },
  },
  security: [{ bearerAuth: [] as string[] }],
};
/** Route schema `security` of the operations open without a token: always, or (GET /metrics) unless auth.metrics is `token`. */
export const OPEN: Array<Record<string, string[]>> = [];
export const OPEN_OR_TOKEN: Array<Record<string, string[]>> = [{}, { bearerAuth: [] }];

/** Paths a GET needs no token for, besides /health, /ready and (auth.metrics `open`) /metrics. */
const under = (path: string, prefix: string) => path === prefix || (path.startsWith(`${prefix}/`) && !path.includes('..') && !path.includes('%'));
const isApiDescription = (path: string) => path === '/openapi.yaml' || under(path, '/docs');
/** The playground page and its files (src/http/routes/playground.ts): no secret in them; the page sends the token typed into it. */
const isPlayground = (path: string) => under(path, '/playground');

export function registerAuth(app: FastifyInstance, c: Config['auth']): void {
  if (c.token === null) return;
  // digests have one length, so the comparison takes the same time whatever the candidate's length
  const expected = digest(c.token);
  const open = new Set(['/health', '/ready', ...(c.metrics === 'open' ? ['/metrics'] : [])]);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if ((req.method === 'GET' || req.method === 'HEAD') && (open.has(path) || isApiDescription(path) || isPlayground(path))) return;
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
    if (m && timingSafeEqual(digest(m[1]!), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="wasm-contract-runner"');
    throw new HttpError(401, 'unauthorized', header === undefined ? 'this service needs `Authorization: Bearer <token>`' : 'the bearer token is not the one this service accepts');
  });
}
