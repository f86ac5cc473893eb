/**
 * Host ABI v1 (docs/ABI.md), module `host`. Every pointer is checked against the caller's memory:
 * an out-of-bounds pointer ends the execution with a `trap` outcome, never a host exception.
 * Bytes the host copies cost 1 fuel each (docs/ABI.md).
 */
import { HostPanic, HostTrap } from './errors.js';
import type { Meter } from './meter.js';
import { RECORD_OVERHEAD_BYTES } from './answer-bound.js';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogLine {
  level: LogLevel;
  message: string;
}

export interface OutputLimits {
  maxOutputBytes: number;
  maxLogLines: number;
  maxLogLineBytes: number;
}

export const HOST_SIGNATURES: Record<string, { params: number[]; results: number[] }> = {
  input_len: { params: [], results: [0x7f] },
  input_read: { params: [0x7f], results: [] },
  output: { params: [0x7f, 0x7f], results: [] },
  log: { params: [0x7f, 0x7f, 0x7f], results: [] },
  panic: { params: [0x7f, 0x7f], results: [] },
};

const decoder = new TextDecoder('utf-8');
const encoder = new TextEncoder();

/** What the host collects during one execution, shared by the modules' bindings. */
export class HostState {
  readonly output: Uint8Array[] = [];
  outputBytes = 0;
  readonly logs: LogLine[] = [];
  droppedLogs = 0;

  constructor(
    readonly input: Uint8Array,
    readonly meter: Meter,
    readonly limits: OutputLimits,
  ) {}

  /** One log line, within the line and size limits (both host profiles log through it). */
  pushLog(level: LogLevel, text: string): void {
    if (this.logs.length >= this.limits.maxLogLines) {
      this.droppedLogs++;
      return;
    }
    this.logs.push({ level, message: this.capped(text) });
  }

  /** `text` cut to maxLogLineBytes (UTF-8) and marked, as a log line is. */
  capped(text: string): string {
    const bytes = encoder.encode(text);
    return bytes.length > this.limits.maxLogLineBytes ? `${decoder.decode(bytes.subarray(0, this.limits.maxLogLineBytes))}… (truncated)` : text;
  }

  /**
   * The Iroha profile's records (instructions, queries, the data model, a verdict) go into the answer
   * as `result.output` does: they share its limit, each counting RECORD_OVERHEAD_BYTES more (a run of
   * empty records is not free); past it the host function traps before it records or calls the peer.
   */
  record(bytes: number, fn: string): void {
    const cost = bytes + RECORD_OVERHEAD_BYTES;
    if (this.outputBytes + cost > this.limits.maxOutputBytes) {
      throw new HostTrap(
        `${fn}: record limit exceeded: the instructions, queries, data model and verdict an Iroha run records are at most ${this.limits.maxOutputBytes} bytes together (engine.output.maxOutputBytes, ${RECORD_OVERHEAD_BYTES} more per record); this one is ${bytes} bytes and ${this.outputBytes} are recorded`,
      );
    }
    this.outputBytes += cost;
  }

  outputBase64(): string {
    return Buffer.concat(this.output).toString('base64');
  }

  finalLogs(): LogLine[] {
    if (this.droppedLogs === 0) return this.logs;
    return [
      ...this.logs,
      { level: 'warn', message: `${this.droppedLogs} more log line(s) dropped: the limit is ${this.limits.maxLogLines}` },
    ];
  }
}

/** Bytes `[ptr, ptr+len)` of `memory`, or a trap naming the host function. */
export function memorySlice(memory: WebAssembly.Memory | undefined, ptr: number, len: number, fn: string): Uint8Array {
  if (!memory) throw new HostTrap(`host.${fn} needs a linear memory, and the calling module has none`);
  const p = ptr >>> 0;
  const n = len >>> 0;
  const size = memory.buffer.byteLength;
  if (p + n > size) throw new HostTrap(`out of bounds memory access: host.${fn} given ${p}..${p + n} but memory is ${size} bytes`);
  return new Uint8Array(memory.buffer, p, n);
}

/** The `host` import object for one module, reading and writing `memory()`. */
export function hostImports(state: HostState, memory: () => WebAssembly.Memory | undefined): WebAssembly.ModuleImports {
  const { meter, limits } = state;
  return {
    input_len: () => state.input.length,
    input_read: (dst: number) => {
      const target = memorySlice(memory(), dst, state.input.length, 'input_read');
      meter.charge(state.input.length);
      target.set(state.input);
    },
    output: (ptr: number, len: number) => {
      const src = memorySlice(memory(), ptr, len, 'output');
      if (state.outputBytes + src.length > limits.maxOutputBytes) {
        throw new HostTrap(`output limit exceeded: at most ${limits.maxOutputBytes} bytes`);
      }
      meter.charge(src.length);
      state.output.push(src.slice());
      state.outputBytes += src.length;
    },
    log: (level: number, ptr: number, len: number) => {
      const name = LOG_LEVELS[level];
      if (name === undefined) throw new HostTrap(`host.log: level ${level} is not 0..4 (trace, debug, info, warn, error)`);
      const src = memorySlice(memory(), ptr, len, 'log');
      meter.charge(src.length);
      if (state.logs.length >= limits.maxLogLines) {
        state.droppedLogs++;
        return;
      }
      const cut = src.length > limits.maxLogLineBytes;
      const message = decoder.decode(cut ? src.subarray(0, limits.maxLogLineBytes) : src);
      state.logs.push({ level: name, message: cut ? `${message}… (truncated)` : message });
    },
    panic: (ptr: number, len: number) => {
      const src = memorySlice(memory(), ptr, len, 'panic');
      const cut = src.length > limits.maxLogLineBytes;
      const message = decoder.decode(cut ? src.subarray(0, limits.maxLogLineBytes) : src);
      throw new HostPanic(cut ? `${message}… (truncated)` : message);
    },
  };
}
