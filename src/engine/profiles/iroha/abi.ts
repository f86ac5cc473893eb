/**
 * The Iroha profile's imports (docs/IROHA.md), module `iroha`: Hyperledger Iroha 2.0.0-rc.1's own host imports,
 * with its conventions, so that modules built by Iroha's toolchain run unmodified.
 *
 * - guest → host arguments are `(ptr, len)` SCALE bytes, never freed by the host;
 * - host → guest data (answers, the entrypoint's context) is written length-prefixed (u32 LE total,
 *   prefix included) into memory from the guest's `_iroha_smart_contract_alloc`;
 * - an executor's verdict is read length-prefixed and freed with `_iroha_smart_contract_dealloc`.
 *
 * The guest's alloc/dealloc calls are wasm calls, metered like any other (as in Iroha's wasmtime);
 * the host's own copying costs nothing (unlike host ABI v1, which charges 1 per byte).
 */
import { HostTrap } from '../../errors.js';
import { type HostState, LOG_LEVELS, memorySlice } from '../../host-abi.js';
import { decodeDbg, decodeLog, lengthPrefixed, noQuerySource, OK_UNIT } from './scale.js';

export const IROHA_MODULE = 'iroha';
export const IROHA_ALLOC = '_iroha_smart_contract_alloc';
export const IROHA_DEALLOC = '_iroha_smart_contract_dealloc';
export const IROHA_MIGRATE = '_iroha_executor_migrate';

export const I32 = 0x7f;
export const IROHA_SIGNATURES: Record<string, { params: number[]; results: number[] }> = {
  log: { params: [I32, I32], results: [] },
  dbg: { params: [I32, I32], results: [] },
  execute_query: { params: [I32, I32], results: [I32] },
  execute_instruction: { params: [I32, I32], results: [I32] },
  set_data_model: { params: [I32, I32], results: [] },
};

/** The request's `iroha` object, decoded. */
export interface IrohaInput {
  /** SCALE bytes of the entrypoint's argument, without the length prefix. */
  context: Uint8Array;
  /** SCALE `Result<QueryResponse, ValidationFail>` answers, in order. */
  queryResponses?: Uint8Array[];
  /** Base URL of the peer answering queries (`/query`) and instructions (`/instruction`). */
  callback?: string;
}

/** The peer behind `callback`: answers a call synchronously, or throws `HostError`. */
export interface PeerLink {
  call(kind: 'query' | 'instruction', body: Uint8Array): Uint8Array;
}

/** What one execution's Iroha host records. */
export class IrohaState {
  readonly instructions: Uint8Array[] = [];
  readonly queries: Uint8Array[] = [];
  dataModel: Uint8Array | null = null;
  private nextResponse = 0;
  /** Calls the module made of its `iroha` imports (a trap before any suggests a context it cannot decode). */
  hostCalls = 0;
  /** Whether the last query was refused for want of a source (no answers given, no callback): then all were. */
  lastQueryRefused = false;

  constructor(
    readonly input: IrohaInput,
    readonly entrypoint: string,
    readonly peer: PeerLink | null,
  ) {}

  answerQuery(query: Uint8Array): Uint8Array {
    this.queries.push(query);
    const list = this.input.queryResponses;
    if (list && list.length > 0) {
      const answer = list[this.nextResponse++];
      if (answer === undefined) {
        throw new HostTrap(
          `iroha.execute_query: query ${this.queries.length} has no answer: iroha.queryResponses holds ${list.length} (answered in order)`,
        );
      }
      return answer;
    }
    if (this.peer) return this.peer.call('query', query);
    this.lastQueryRefused = true;
    return noQuerySource();
  }

  answerInstruction(instruction: Uint8Array): Uint8Array {
    this.instructions.push(instruction);
    return this.peer ? this.peer.call('instruction', instruction) : OK_UNIT;
  }
}

/** The guest's exported allocator, which the host writes its answers with. */
export interface Guest {
  memory: WebAssembly.Memory;
  alloc: (len: number) => number;
  dealloc: (ptr: number, len: number) => void;
}

/** Writes `payload` length-prefixed into guest memory from its allocator; returns the pointer. */
export function writeToGuest(guest: Guest, payload: Uint8Array, what: string): number {
  const buf = lengthPrefixed(payload);
  const ptr = guest.alloc(buf.length) >>> 0;
  memorySlice(guest.memory, ptr, buf.length, `${what} (_iroha_smart_contract_alloc result)`).set(buf);
  return ptr;
}

/** The `iroha` import object for one module. */
export function irohaImports(state: IrohaState, host: HostState, guest: () => Guest): WebAssembly.ModuleImports {
  const read = (ptr: number, len: number, fn: string) => memorySlice(guest().memory, ptr, len, fn).slice();
  // what goes into the answer is counted first: past the limit nothing is copied, nor sent to the peer
  const recorded = (ptr: number, len: number, fn: string) => {
    const view = memorySlice(guest().memory, ptr, len, fn);
    host.record(view.length, `iroha.${fn}`);
    return view.slice();
  };
  const decode = <T>(fn: string, f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw new HostTrap(`iroha.${fn}: ${(e as Error).message}`);
    }
  };
  const imports: WebAssembly.ModuleImports = {
    log: (ptr: number, len: number) => {
      // decodeLog refuses a level outside 0..4, as Iroha does
      const { level, message } = decode('log', () => decodeLog(read(ptr, len, 'log')));
      host.pushLog(LOG_LEVELS[level]!, message);
    },
    dbg: (ptr: number, len: number) => {
      host.pushLog('debug', decode('dbg', () => decodeDbg(read(ptr, len, 'dbg'))));
    },
    execute_query: (ptr: number, len: number) => writeToGuest(guest(), state.answerQuery(recorded(ptr, len, 'execute_query')), 'iroha.execute_query'),
    execute_instruction: (ptr: number, len: number) =>
      writeToGuest(guest(), state.answerInstruction(recorded(ptr, len, 'execute_instruction')), 'iroha.execute_instruction'),
    set_data_model: (ptr: number, len: number) => {
      if (state.entrypoint !== IROHA_MIGRATE) {
        throw new HostTrap(`iroha.set_data_model may only be called from ${IROHA_MIGRATE}, not from ${state.entrypoint}`);
      }
      state.dataModel = recorded(ptr, len, 'set_data_model');
    },
  };
  // each counted as it starts: a call that traps was made too
  for (const [name, f] of Object.entries(imports)) {
    imports[name] = (...args: number[]) => {
      state.hostCalls++;
      return (f as (...a: number[]) => unknown)(...args);
    };
  }
  return imports;
}

