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
  maxStackBytes: 2 * 1024 * 1024,
  output: { maxOutputBytes: 1024 * 1024, maxLogLines: 256, maxLogLineBytes: 4096 },
};

export const DEFAULT_ENGINE_POLICY: Policy = DEFAULT_POLICY;

/**
 * The stack budget (docs/ABI.md, Stack) and the thread stack that must hold it. The budget runs out
 * before V8's own limit when the thread's stack has room for the host's frames below the first wasm
 * frame and a leaf above the last one (HOST_RESERVE), Node's slack for native code (V8_BUFFER), and
 * STACK_FACTOR times the budget: V8's real frames measured at most about 0.6 of their charge in both
 * tiers on Node 20 and 24 (test/engine/stack-tiers.test.ts), so 2 leaves more than threefold margin.
 */
export const STACK_BUDGET = {
  min: 64 * 1024,
  max: 16 * 1024 * 1024,
} as const;
const MIB = 1024 * 1024;
const STACK_FACTOR = 2;
const HOST_RESERVE = 512 * 1024;
/** Node's `kStackBufferSize`: a worker's V8 limit sits this far above the end of its thread stack. */
const V8_BUFFER = 192 * 1024;
/** The smallest worker stack: other JavaScript in a worker (compiling, decoding) wants room too. */
const MIN_WORKER_STACK_MB = 8;

/** `resourceLimits.stackSizeMb` for a worker thread running executions under this stack budget. */
export function workerStackMb(maxStackBytes: number): number {
  return Math.max(MIN_WORKER_STACK_MB, Math.ceil((STACK_FACTOR * maxStackBytes + HOST_RESERVE + V8_BUFFER) / MIB));
}

/** Why a worker stack of `stackSizeMb` cannot hold the budget, or null when it can. */
export function stackTooSmall(stackSizeMb: number, maxStackBytes: number): string | null {
  const need = workerStackMb(maxStackBytes);
  if (stackSizeMb >= need) return null;
  return `a worker stack of ${stackSizeMb} MB cannot hold the stack budget of ${maxStackBytes} bytes: it needs ${need} MB (engine/defaults.ts, workerStackMb)`;
}
