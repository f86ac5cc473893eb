/** Defaults shared by the CLI and the service (the service's config file overrides them). */
import { DEFAULT_POLICY, type Policy } from '../wasm/policy.js';
import type { EngineConfig, Limits } from './execute.js';

/** Iroha's on-chain defaults (docs/API.md, Limits). */
export const DEFAULT_LIMITS: Limits = { fuel: 55_000_000, memoryBytes: 55_000_000, timeoutMs: 2000 };

/** Ceilings a request may ask for. */
export const MAX_LIMITS: Limits = { fuel: 10_000_000_000, memoryBytes: 256 * 1024 * 1024, timeoutMs: 30_000 };

export const DEFAULT_ENGINE_CONFIG: EngineConfig = {
  instrument: {
    maxMemoryPages: Math.ceil(MAX_LIMITS.memoryBytes / 65536),
    maxTableElements: DEFAULT_POLICY.maxTableElements,
  },
  maxCallDepth: 5000,
  output: { maxOutputBytes: 1024 * 1024, maxLogLines: 256, maxLogLineBytes: 4096 },
};

export const DEFAULT_ENGINE_POLICY: Policy = DEFAULT_POLICY;
