/**
 * The parts of an execution's answer (docs/API.md) the engine builds the same way for every host
 * profile: memory, modules, link, timings; and the whole body of a run stopped by the wall-clock
 * backstop, of which nothing is known.
 */
import type { LinkStats } from './linking/bridge.js';
import { PAGE } from './memory-pool.js';
import type { Meter } from './meter.js';
import type { PreparedModule } from './prepare.js';
import { profileFor } from './profiles/index.js';
import type { BeforeTimings, ExecuteInput, ExecutionResult, ModuleMemory } from './execution-types.js';
import { HOOK_EXPORTS } from '../wasm/meter-abi.js';

export const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** The `memory_limit` message of memories over the limit before anything runs. */
export function initialMemoryMessage(input: ExecuteInput, shared: boolean, initialPages: number): string {
  const { contract, library, limits } = input;
  const parts = shared
    ? `one shared memory of ${initialPages} pages`
    : library
      ? `contract ${contract.info.memoryPages} + library ${library.info.memoryPages} pages`
      : `contract ${contract.info.memoryPages} pages`;
  return `initial memory of ${initialPages * PAGE} bytes (${parts}) exceeds the limit of ${limits.memoryBytes} bytes`;
}

export function modulesReport(input: ExecuteInput): ExecutionResult['modules'] {
  const { contract, library } = input;
  return {
    contract: { hash: contract.info.hash, bytes: contract.info.bytes },
    ...(library ? { library: { hash: library.info.hash, bytes: library.info.bytes } } : {}),
  };
}

export function linkReport(input: ExecuteInput, stats: LinkStats): ExecutionResult['link'] {
  if (input.link?.mode === 'shared') return { mode: 'shared', calls: 0, bytesCopied: 0, stacks: input.link.stacks ?? 'two' };
  return { mode: 'bridge', calls: stats.calls, bytesCopied: stats.bytesCopied };
}

/** `runMs`: the whole run, from before instantiation to after the call. */
export function timingsReport(timings: BeforeTimings, instantiateMs: number, executeMs: number, runMs: number): ExecutionResult['timings'] {
  const totalMs = (timings.queueMs ?? 0) + (timings.prepareMs ?? 0) + runMs;
  return {
    queueMs: round(timings.queueMs ?? 0),
    prepareMs: round(timings.prepareMs ?? 0),
    instantiateMs: round(instantiateMs),
    executeMs: round(executeMs),
    totalMs: round(totalMs),
  };
}

export function memoryReport(
  input: ExecuteInput,
  capPages: number,
  initialPages: number,
  meter: Meter,
  lib: WebAssembly.Instance | undefined,
  contract: WebAssembly.Instance | undefined,
  shared: boolean,
): ExecutionResult['memory'] {
  const limits = input.limits;
  const grown = initialPages > capPages ? 0 : Math.max(0, capPages - initialPages - (meter.pages.value as number));
  // refused before instantiation: nothing was allocated
  const refused = initialPages > capPages;
  const one = (p: PreparedModule, i: WebAssembly.Instance | undefined): ModuleMemory => {
    const initialBytes = p.info.memoryPages * PAGE;
    const mem = i?.exports[HOOK_EXPORTS.memory];
    const peakBytes = refused ? 0 : mem instanceof WebAssembly.Memory ? mem.buffer.byteLength : initialBytes;
    return { initialBytes, peakBytes };
  };
  const peakBytes = refused ? 0 : (initialPages + grown) * PAGE;
  if (shared) {
    // one memory: counted once, under the library (which owns it, or shares the host's); the contract owns none
    return {
      limitBytes: limits.memoryBytes,
      peakBytes,
      modules: { contract: { initialBytes: 0, peakBytes: 0 }, library: { initialBytes: refused ? 0 : initialPages * PAGE, peakBytes } },
    };
  }
  return {
    limitBytes: limits.memoryBytes,
    peakBytes,
    modules: {
      contract: one(input.contract, contract),
      ...(input.library ? { library: one(input.library, lib) } : {}),
    },
  };
}

/** The body for a run stopped by the wall-clock backstop (its real fuel use is unknown: the limit is reported). */
export function timeoutResult(input: ExecuteInput, timings: BeforeTimings & { executeMs: number }): ExecutionResult {
  const { contract, library, limits } = input;
  const mem = (p: PreparedModule) => ({ initialBytes: p.info.memoryPages * PAGE, peakBytes: p.info.memoryPages * PAGE });
  const initial = (contract.info.memoryPages + (library?.info.memoryPages ?? 0)) * PAGE;
  return {
    ok: false,
    result: null,
    error: { kind: 'timeout', message: `execution stopped after ${limits.timeoutMs} ms (wall clock)` },
    fuel: { limit: limits.fuel, consumed: limits.fuel, remaining: 0 },
    memory: {
      limitBytes: limits.memoryBytes,
      peakBytes: initial,
      modules: { contract: mem(contract), ...(library ? { library: mem(library) } : {}) },
    },
    logs: [],
    modules: modulesReport(input),
    link: linkReport(input, { calls: 0, bytesCopied: 0 }),
    ...profileFor(input).timeoutReport(input),
    timings: timingsReport(timings, 0, timings.executeMs, timings.executeMs),
  };
}
