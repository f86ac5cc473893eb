/** Turning what an execution threw into an outcome kind and a message (docs/API.md, Outcomes). */
import { MeterFlag } from '../wasm/meter-abi.js';
import { HostError, HostOutOfFuel, HostPanic, HostTrap } from './errors.js';
import type { Meter } from './meter.js';
import { type WasmSite, callSites, wasmSite } from './call-sites.js';

export type OutcomeKind = 'out_of_fuel' | 'memory_limit' | 'stack_overflow' | 'trap' | 'panic' | 'timeout' | 'host_error';

export interface Outcome {
  kind: OutcomeKind;
  message: string;
}

/** V8's trap messages → the spec's (and wasmtime's) wording, which contract authors search for. */
const TRAP_MESSAGES: Array<[RegExp, string]> = [
  [/^unreachable/, 'wasm `unreachable` instruction executed'],
  [/^divide by zero|^remainder by zero/, 'integer divide by zero'],
  [/^divide result unrepresentable/, 'integer overflow'],
  [/^float unrepresentable in integer range/, 'invalid conversion to integer'],
  [/^memory access out of bounds/, 'out of bounds memory access'],
  [/^operation does not support unaligned accesses/, 'misaligned memory access'],
  [/^table index is out of bounds/, 'undefined element: out of bounds table access'],
  [/^null function or function signature mismatch|^function signature mismatch/, 'indirect call to a null element or with a mismatched signature'],
  [/^invalid index into function table/, 'undefined element'],
  [/^dereferencing a null pointer/, 'null reference'],
  [/^data segment/, 'out of bounds memory access (data segment)'],
  [/^element segment|^table access/, 'out of bounds table access (element segment)'],
];

export function trapMessage(v8Message: string): string {
  for (const [re, text] of TRAP_MESSAGES) if (re.test(v8Message)) return text;
  return v8Message;
}

/** The deterministic limit: the meter's stack budget ran out. */
export function stackBudgetMessage(stackBytes: number): string {
  return `call stack exhausted: the stack budget of ${stackBytes} bytes is used up (docs/ABI.md, Stack)`;
}

/** The backstop: V8's own stack limit, reached before the budget (a thread stack too small for it). */
export const ENGINE_STACK_MESSAGE = "call stack exhausted: the engine's own stack limit was reached before the stack budget (the thread's stack is too small for it)";

function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack size/i.test(e.message);
}

/** Classifies an error thrown by instantiation or the call. Unknown errors are bugs: rethrown. */
export function classify(e: unknown, meter: Meter, memoryLimitBytes: number): Outcome {
  if (meter.flag(MeterFlag.outOfFuel) || e instanceof HostOutOfFuel) {
    return { kind: 'out_of_fuel', message: `all fuel consumed: the limit is ${meter.fuelLimit}` };
  }
  if (meter.flag(MeterFlag.stackOverflow)) {
    return { kind: 'stack_overflow', message: stackBudgetMessage(meter.stackBytes) };
  }
  // unreachable in a worker, whose stack is sized from the budget (engine/defaults.ts); an embedder
  // running on a smaller stack (the main thread) may reach V8's own limit first
  if (isStackOverflow(e)) return { kind: 'stack_overflow', message: ENGINE_STACK_MESSAGE };
  if (e instanceof HostPanic) return { kind: 'panic', message: e.message };
  if (e instanceof HostError) return { kind: 'host_error', message: e.message };
  if (e instanceof HostTrap || e instanceof WebAssembly.RuntimeError) {
    const message = e instanceof HostTrap ? e.message : trapMessage((e as Error).message);
    // a refused grow explains the trap that follows it (e.g. Rust's allocation-failure abort)
    if (meter.flag(MeterFlag.growRefused)) {
      return { kind: 'memory_limit', message: `memory limit of ${memoryLimitBytes} bytes reached (memory.grow refused), then: ${message}` };
    }
    return { kind: 'trap', message };
  }
  if (e instanceof RangeError && /memory/i.test((e as Error).message)) {
    return { kind: 'memory_limit', message: `memory could not be allocated: ${(e as Error).message}` };
  }
  throw e;
}

/** The top wasm frame of a trap: the module and the byte offset in its instrumented bytes (call-sites.ts). */
export type TrapSite = WasmSite;

export function trapSite(e: unknown): TrapSite | null {
  // only the top frame: a trap is always raised by the wasm instruction at the top
  const top = callSites(e)[0];
  return top ? wasmSite(top) : null;
}
