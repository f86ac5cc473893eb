/**
 * The `application/json` body parser: errors that say what is wrong, and keys that could reach an
 * object's prototype (`__proto__`, `constructor.prototype`) refused by name. No field of this API has
 * such a name, and code that merges the body must never meet one.
 */
import type { FastifyInstance } from 'fastify';
import { HttpError } from './errors.js';
import { jsonProblem } from './input-hints.js';

/** The path of the first forbidden key in `value` ("body.calls[0].contract"), or null. */
function forbiddenKey(value: unknown): { path: string; key: string } | null {
  const stack: Array<{ v: unknown; path: string }> = [{ v: value, path: 'body' }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push({ v: x, path: `${path}[${i}]` }));
      continue;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === '__proto__') return { path, key: '__proto__' };
      if (k === 'constructor' && x !== null && typeof x === 'object' && Object.hasOwn(x, 'prototype')) return { path: `${path}.constructor`, key: 'prototype' };
      stack.push({ v: x, path: `${path}.${k}` });
    }
  }
  return null;
}

export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new HttpError(400, 'bad_request', 'the body is empty: send a JSON object with Content-Type application/json');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    // where it broke (line, column, offset), and what to do when it is a raw control character
    throw new HttpError(400, 'bad_request', `the body is not valid JSON (${jsonProblem(text, e as Error)}): send one JSON object with Content-Type application/json`);
  }
  // only text with such a key (or an escape that could spell one) is walked
  if (/__proto__|prototype|\\u/.test(text)) {
    const bad = forbiddenKey(value);
    if (bad) {
      throw new HttpError(400, 'bad_request', `the JSON body has a \`${bad.key}\` key in ${bad.path}: no field of this API has that name (it could reach an object's prototype); remove it`);
    }
  }
  return value;
}

/** Replaces Fastify's JSON parser (whose one message is "Body is not valid JSON"). */
export function registerJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
}
