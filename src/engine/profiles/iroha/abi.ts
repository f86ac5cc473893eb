/**
 * The Iroha profile (docs/IROHA.md), module `iroha`: Hyperledger Iroha 2.0.0-rc.1's own host imports,
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
import { badRequest, HostTrap, linkError } from '../../errors.js';
import type { ModuleInfo } from '../../prepare.js';
import { type FuncType, formatFuncType, sameFuncType } from '../../../wasm/module.js';
import { type HostState, LOG_LEVELS, memorySlice } from '../../host-abi.js';
import { decodeDbg, decodeLog, type IrohaVerdict, lengthPrefixed, noQuerySource, OK_UNIT } from './scale.js';
import type { IrohaReport } from '../../execute.js';

export const IROHA_MODULE = 'iroha';
export const IROHA_ALLOC = '_iroha_smart_contract_alloc';
export const IROHA_DEALLOC = '_iroha_smart_contract_dealloc';
export const IROHA_MIGRATE = '_iroha_executor_migrate';

const I32 = 0x7f;
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
    return noQuerySource();
  }

  answerInstruction(instruction: Uint8Array): Uint8Array {
    this.instructions.push(instruction);
    return this.peer ? this.peer.call('instruction', instruction) : OK_UNIT;
  }
}

/**
 * An executor's verdict as the answer carries it: a refusal's bytes count as a record, its message is
 * capped like a log line (both come from guest memory, as large as the module makes them).
 */
export function verdictReport(host: HostState, payload: Uint8Array, v: IrohaVerdict): IrohaReport['verdict'] {
  if (v.ok) return { ok: true };
  host.record(payload.length, "the executor's verdict");
  const scale = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('base64');
  return { ok: false, reason: v.reason, ...(v.message !== undefined ? { message: host.capped(v.message) } : {}), scale };
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
  return {
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
}


/** What the checks found: the entrypoint and whether it returns an executor verdict. */
export interface IrohaPlan {
  entry: string;
  returnsVerdict: boolean;
}

const ENTRY_MAIN = /^_iroha_\w*_main$/;

/**
 * Checks a module and a request for the Iroha profile before anything runs: its imports are Iroha's
 * own, it exports what Iroha's host requires, and the entrypoint takes a context pointer.
 */
export function planIroha(info: ModuleInfo, o: { entrypoint?: string; args?: unknown[]; library: boolean; link: boolean }): IrohaPlan {
  if (o.library) throw badRequest('the Iroha profile runs one module, as an Iroha peer does: give no library');
  if (o.link) throw badRequest('`link` does not apply to the Iroha profile (one module, no library)');
  if (o.args && o.args.length > 0) throw badRequest('an Iroha entrypoint takes its argument from `iroha.context`, not from `args`');
  for (const imp of info.imports) {
    const what = `the module imports \`${imp.module}.${imp.name}\``;
    if (imp.module !== IROHA_MODULE) {
      throw linkError(`${what}, but the Iroha profile provides only \`${IROHA_MODULE}\` imports (${Object.keys(IROHA_SIGNATURES).join(', ')})`);
    }
    const sig = IROHA_SIGNATURES[imp.name];
    if (!sig) throw linkError(`${what}, which Iroha's host does not have (it has ${Object.keys(IROHA_SIGNATURES).join(', ')})`);
    if (imp.kind !== 'func' || !sameFuncType(imp.type!, sig)) {
      throw linkError(`${what} as ${imp.type ? formatFuncType(imp.type) : `a ${imp.kind}`}, but it is ${formatFuncType(sig)}`);
    }
  }
  const exported = (name: string, sig: FuncType | null) => {
    const e = info.exports.find((x) => x.name === name);
    const ok = e && (sig === null ? e.kind === 'memory' : e.kind === 'func' && sameFuncType(e.type!, sig));
    if (!ok) {
      throw linkError(`Iroha's host requires the module to export \`${name}\`${sig ? ` ${formatFuncType(sig)}` : ' (its memory)'}${e ? `, but it is ${e.type ? formatFuncType(e.type) : `a ${e.kind}`}` : ''}`);
    }
  };
  exported('memory', null);
  exported(IROHA_ALLOC, { params: [I32], results: [I32] });
  exported(IROHA_DEALLOC, { params: [I32, I32], results: [] });
  const entries = info.exports.filter((e) => e.kind === 'func' && e.name.startsWith('_iroha_') && e.name !== IROHA_ALLOC && e.name !== IROHA_DEALLOC);
  let entry = o.entrypoint;
  if (entry === undefined) {
    const mains = entries.filter((e) => ENTRY_MAIN.test(e.name));
    if (mains.length !== 1) {
      throw badRequest(
        `give the entrypoint: the module exports ${mains.length === 0 ? 'no' : mains.length} \`_iroha_*_main\` function(s) (its entrypoints: ${entries.map((e) => e.name).join(', ') || 'none'})`,
      );
    }
    entry = mains[0]!.name;
  }
  const exp = info.exports.find((e) => e.name === entry && e.kind === 'func');
  if (!exp) throw badRequest(`the module exports no function \`${entry}\` (its entrypoints: ${entries.map((e) => e.name).join(', ') || 'none'})`);
  const t = exp.type!;
  const takesPointer = t.params.length === 1 && t.params[0] === I32;
  if (!takesPointer || t.results.length > 1 || (t.results.length === 1 && t.results[0] !== I32)) {
    throw linkError(`an Iroha entrypoint is (i32) -> () or (i32) -> (i32) (a context pointer in, a verdict pointer out), but \`${entry}\` is ${formatFuncType(t)}`);
  }
  return { entry, returnsVerdict: t.results.length === 1 };
}
