/**
 * The baseline of bench/http.ts: a bare Fastify route that parses the same JSON body and answers the
 * same JSON as POST /execute, with the same logger settings, and does nothing else.
 */
import Fastify from 'fastify';

const body = JSON.parse(process.env.BARE_BODY ?? '{}') as object;
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'info' } });
app.post('/execute', async () => body);
await app.listen({ host: '127.0.0.1', port: 0 });
