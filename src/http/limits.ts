/** Request limits: defaults from config, refused above the configured ceilings. */
import type { Limits } from '../engine/execute.js';
import { HttpError } from './errors.js';

export function resolveLimits(requested: Partial<Limits> | undefined, defaults: Limits, max: Limits): Limits {
  const out = { ...defaults, ...requested };
  for (const k of ['fuel', 'memoryBytes', 'timeoutMs'] as const) {
    if (out[k] > max[k]) throw new HttpError(400, 'bad_request', `limits.${k} = ${out[k]} is above the ceiling of ${max[k]}`);
  }
  return out;
}
