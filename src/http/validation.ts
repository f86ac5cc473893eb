/** Schema errors as messages a client can act on (Ajv's raw list repeats itself for unions). */
import type { FastifySchemaValidationError } from 'fastify/types/schema.js';
import { hashProblem } from './input-hints.js';

/** Ajv's `/calls/1/contract` as the docs write it: `.calls[1].contract`. */
export const jsonPath = (instancePath: string) => instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');

/** A module reference `{ "hash": … }` whose hash is wrong: what is wrong with it, or null. */
function badHashRef(data: unknown): string | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const keys = Object.keys(data);
  const hash = (data as { hash?: unknown }).hash;
  if (keys.length !== 1 || typeof hash !== 'string') return null;
  return hashProblem(hash);
}

export function formatSchemaErrors(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const where = (path: string) => `${dataVar}${jsonPath(path)}`;
  // a failed union explains itself by its description; drop the errors of its branches
  const unions = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
  const inUnion = (path: string) => unions.some((u) => path === u || path.startsWith(`${u}/`));
  const kept = errors.filter((e) => e.keyword === 'anyOf' || !inUnion(e.instancePath));
  const messages = kept.map((e) => {
    const path = where(e.instancePath);
    if (e.keyword === 'anyOf') {
      // a module by hash with a wrong hash: say what is wrong with it rather than the union's shape
      const hash = badHashRef((e as { data?: unknown }).data);
      if (hash) return `${path}.hash: ${hash}`;
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
