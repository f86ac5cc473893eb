/**
 * Optional bearer-token authentication (config `auth`): every request carries
 * `Authorization: Bearer <token>`, compared in constant time, except `GET /health` (liveness must not
 * need a secret) and, unless `auth.metrics` is `token`, `GET /metrics`. A request without the right
 * token is answered 401 before its body is read.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { HttpError } from './errors.js';

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function registerAuth(app: FastifyInstance, c: Config['auth']): void {
  if (c.token === null) return;
  // digests have one length, so the comparison takes the same time whatever the candidate's length
  const expected = digest(c.token);
  const open = new Set(['/health', ...(c.metrics === 'open' ? ['/metrics'] : [])]);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?', 1)[0]!;
    if ((req.method === 'GET' || req.method === 'HEAD') && open.has(path)) return;
    const header = req.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null;
    if (m && timingSafeEqual(digest(m[1]!), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="wasm-contract-runner"');
    throw new HttpError(401, 'unauthorized', header === undefined ? 'this service needs `Authorization: Bearer <token>`' : 'the bearer token is not the one this service accepts');
  });
}
