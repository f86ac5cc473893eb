/** Schema errors as messages a client can act on (Ajv's raw list repeats itself for unions). */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';

export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const where = (path: string) => `${dataVar}${path.replace(/\//g, '.')}`;
  // a failed union explains itself by its description; drop the errors of its branches
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const inUnion = (path: string) => unions.some((u) => path === u || path.startsWith(`${u}/`));
  const kept = errors.filter((e) => e.keyword === 'anyOf' || !inUnion(e.instancePath));
  const messages = kept.map((e) => {
    const path = where(e.instancePath);
    if (e.keyword === 'anyOf') {
      const description = (e as { parentSchema?: { description?: string } }).parentSchema?.description;
      return `${path} is not valid${description ? `: expected ${description}` : ''}`;
    }
    if (e.keyword === 'additionalProperties') {
      return `${path} has an unknown property \`${(e.params as { additionalProperty?: string }).additionalProperty}\``;
    }
    // no body at all, or a JSON value that is not an object
    if (e.instancePath === '' && e.keyword === 'type' && dataVar === 'body') return 'the body must be a JSON object: send one with Content-Type application/json';
    return `${path} ${e.message}`;
  });
  const unique = [...new Set(messages)];
  return new Error(`invalid request: ${unique.slice(0, 3).join('; ')}`);
}
