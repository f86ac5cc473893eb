/**
 * One linked execution (no HTTP): check the link and the call, instantiate library then contract
 * under one meter, call the entrypoint, and describe the outcome as the §3 response body.
 */
import { linkError, badRequest, HostTrap } from './errors.js';
import { type Guest, IROHA_ALLOC, IROHA_DEALLOC, IROHA_MODULE, type IrohaInput, type IrohaPlan, IrohaState, type PeerLink, irohaImports, planIroha, verdictReport, writeToGuest } from './profiles/iroha/abi.js';
import { HttpPeer, type PeerConfig, ReplayPeer } from './profiles/iroha/peer.js';
import { type IrohaVerdict, decodeVerdict, readLengthPrefixed } from './profiles/iroha/scale.js';
import { HOST_SIGNATURES, HostState, type LogLine, type OutputLimits, hostImports } from './host-abi.js';
import { type BridgePlan, type LinkStats, bridgeImports, planBridge } from './linking/bridge.js';
import { type SharedPlan, type Stacks, planShared, sharedContractImports, stackImports } from './linking/shared.js';
import { Meter } from './meter.js';
import { PAGE, threadMemoryPool } from './memory-pool.js';
import { type Outcome, classify, trapSite } from './outcome.js';
import { type InstrumentSettings, type ModuleInfo, type PreparedModule, exactVariant, toVariant } from './prepare.js';
import { unexecutedFuel } from './refund.js';
import { type JsonValue, checkSignatureSupported, fromWasmResults, toWasmArgs } from './values.js';
import { type FuncType, formatFuncType, sameFuncType } from '../wasm/module.js';
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, MeterFlag } from '../wasm/meter-abi.js';
import { hex } from '../wasm/layout.js';

export interface EngineConfig {
  instrument: InstrumentSettings;
  /** The stack budget in bytes (docs/ABI.md, Stack). */
  maxStackBytes: number;
  output: OutputLimits;
  /** The Iroha profile's peer callbacks (defaults: DEFAULT_PEER_CONFIG). */
  iroha?: PeerConfig;
}

export const DEFAULT_PEER_CONFIG: PeerConfig = { callbackTimeoutMs: 1000, maxCallbackResponseBytes: 4 * 1024 * 1024 };

export interface Limits {
  fuel: number;
  memoryBytes: number;
  timeoutMs: number;
}

export interface LinkOptions {
  mode?: 'bridge' | 'shared';
  namespace?: string;
  ffi?: string;
  /** Shared mode only: each module on its own stack (guarded), or both on the contract's. */
  stacks?: Stacks;
}

export interface ExecuteInput {
  contract: PreparedModule;
  library?: PreparedModule | null;
  link?: LinkOptions;
  entrypoint?: string;
  args?: unknown[];
  input?: Uint8Array;
  limits: Limits;
  /**
   * In-process embedders and tests only (a function does not cross to a worker): called with the
   * linear memories as the run left them, e.g. to prove what a trap did not touch.
   */
  inspectMemory?: (memories: { contract?: WebAssembly.Memory; library?: WebAssembly.Memory }) => void;
  /** The Iroha profile (docs/IROHA.md): the module imports `iroha`, its entrypoint takes this context. */
  iroha?: IrohaInput;
  /** Internal: the peer's answers of a first run, when the run is repeated for exact fuel. */
  peerReplay?: Uint8Array[];
  /** What `check(this)` gave, when the caller already checked (plain data: it crosses to a worker). */
  checked?: Checked;
}

/** The `iroha` part of a response: what the module asked of the peer, and what it answered. */
export interface IrohaReport {
  instructions: string[];
  queries: string[];
  dataModel: string | null;
  verdict: null | { ok: true } | { ok: false; reason: string; message?: string; scale: string };
}

export interface ModuleMemory {
  initialBytes: number;
  peakBytes: number;
}

export interface ExecutionResult {
  ok: boolean;
  result: { values: JsonValue[]; output: string } | null;
  error: Outcome | null;
  fuel: { limit: number; consumed: number; remaining: number };
  memory: { limitBytes: number; peakBytes: number; modules: { contract: ModuleMemory; library?: ModuleMemory } };
  logs: LogLine[];
  modules: { contract: { hash: string; bytes: number }; library?: { hash: string; bytes: number } };
  link: { mode: 'bridge' | 'shared'; calls: number; bytesCopied: number; stacks?: Stacks };
  timings: { queueMs: number; prepareMs: number; instantiateMs: number; executeMs: number; totalMs: number };
  iroha?: IrohaReport;
}

/** Everything checked before anything runs: a bad request never starts a start function. */
export interface Checked {
  entry: string;
  entryType: FuncType;
  args: Array<number | bigint>;
  /** Bridge mode: how each library import is wired (empty in shared mode). */
  bridge: BridgePlan;
  /** Shared mode: the checked layouts and wiring. */
  shared: SharedPlan | null;
  namespace: string;
  /** The Iroha profile: its entrypoint, and whether that returns a verdict. */
  iroha: IrohaPlan | null;
}

export function check(input: ExecuteInput): Checked {
  if (input.iroha) {
    const plan = planIroha(input.contract.info, { entrypoint: input.entrypoint, args: input.args, library: !!input.library, link: !!input.link });
    const entryType = input.contract.info.exports.find((e) => e.name === plan.entry)!.type!;
    return { entry: plan.entry, entryType, args: [], bridge: { namespace: 'lib', wires: [] }, shared: null, namespace: 'lib', iroha: plan };
  }
  const mode = input.link?.mode ?? 'bridge';
  const namespace = input.link?.namespace ?? 'lib';
  if (namespace === 'host' || namespace === METER_MODULE) throw badRequest(`link namespace \`${namespace}\` is reserved`);
  if (mode === 'shared' && namespace === 'env') throw badRequest('link namespace `env` is reserved in shared mode (the shared memory is `env.memory`)');
  if (input.link?.stacks !== undefined && mode !== 'shared') throw badRequest('link.stacks applies to link mode "shared" only');
  const contract = input.contract.info;
  const library = input.library?.info ?? null;
  checkImports(contract, 'contract', [namespace], mode);
  if (library) checkImports(library, 'library', [], mode);
  const shared = mode === 'shared' ? planShared(contract, library, namespace, input.link?.stacks ?? 'two') : null;
  const bridge = mode === 'shared' ? { namespace, wires: [] } : planBridge(contract, library, namespace, input.link?.ffi);

  const entry = input.entrypoint ?? 'main';
  const exp = contract.exports.find((e) => e.name === entry);
  if (!exp || exp.kind !== 'func') {
    const funcs = contract.exports.filter((e) => e.kind === 'func').map((e) => e.name);
    throw badRequest(`the contract exports no function \`${entry}\` (its functions: ${funcs.join(', ') || 'none'})`);
  }
  const entryType = exp.type!;
  checkSignatureSupported(entryType, entry);
  const args = toWasmArgs(entryType, input.args ?? [], entry);
  return { entry, entryType, args, bridge, shared, namespace, iroha: null };
}

function checkImports(info: ModuleInfo, role: string, allowed: string[], mode: 'bridge' | 'shared'): void {
  for (const imp of info.imports) {
    const what = `the ${role} imports \`${imp.module}.${imp.name}\``;
    if (imp.module === 'host') {
      const sig = HOST_SIGNATURES[imp.name];
      if (!sig) throw linkError(`${what}, which host ABI v1 does not have (it has ${Object.keys(HOST_SIGNATURES).join(', ')})`);
      if (imp.kind !== 'func' || !sameFuncType(imp.type!, sig)) {
        throw linkError(`${what} as ${imp.type ? formatFuncType(imp.type) : `a ${imp.kind}`}, but it is ${formatFuncType(sig)}`);
      }
      continue;
    }
    if (imp.module === METER_MODULE) throw linkError(`${what}: the module name \`${METER_MODULE}\` is reserved for the meter`);
    if (imp.module === IROHA_MODULE && !allowed.includes(IROHA_MODULE)) {
      throw linkError(`${what}: an Iroha module runs with the Iroha profile: give the request an \`iroha\` object (its context)`);
    }
    if (allowed.includes(imp.module)) continue;
    if (mode === 'shared' && imp.module === 'env' && (imp.kind === 'memory' || (imp.kind === 'table' && role === 'contract'))) continue;
    if (mode === 'shared' && imp.kind === 'memory') {
      throw linkError(`${what} (a memory): in shared mode the one memory is imported as \`env.memory\``);
    }
    if (imp.kind === 'memory') {
      throw linkError(
        `${what} (a memory): in bridge mode each module has its own memory: use link mode "shared" to run it on the library's memory, or build it with a memory of its own`,
      );
    }
    throw linkError(`${what}: unknown import module \`${imp.module}\` (known: host${allowed.map((a) => `, ${a}`).join('')})`);
  }
}

/** A memory taken from this thread's pool for one execution. */
interface Lease {
  memory: WebAssembly.Memory;
  initial: number;
  maximum: number | undefined;
}

export function execute(input: ExecuteInput, config: EngineConfig, timings: { queueMs?: number; prepareMs?: number } = {}): ExecutionResult {
  const leases: Lease[] = [];
  const lease = (initial: number, maximum: number | undefined) => {
    const memory = threadMemoryPool.acquire(initial, maximum);
    leases.push({ memory, initial, maximum });
    return memory;
  };
  try {
    return run(input, config, timings, lease);
  } finally {
    // an embedder inspecting the memories keeps them; otherwise nothing of this execution runs again
    if (!input.inspectMemory) for (const l of leases) threadMemoryPool.release(l.memory, l.initial, l.maximum);
  }
}

function run(
  input: ExecuteInput,
  config: EngineConfig,
  timings: { queueMs?: number; prepareMs?: number },
  lease: (initial: number, maximum: number | undefined) => WebAssembly.Memory,
): ExecutionResult {
  const t0 = performance.now();
  // the service checks before it takes a worker; the worker need not check again
  const c = input.checked ?? check(input);
  if (c.shared && (input.contract.variant !== 'shared' || (input.library && input.library.variant !== 'shared'))) {
    // shared linking runs the modules' shared variants (stack pointer imported and guarded)
    return execute({ ...input, contract: toVariant(input.contract, 'shared'), library: input.library ? toVariant(input.library, 'shared') : input.library }, config, timings);
  }
  const { contract, library } = input;
  const limits = input.limits;
  const capPages = Math.floor(limits.memoryBytes / PAGE);
  const initialPages = pagesAtStart(input, c);
  const meter = new Meter(BigInt(limits.fuel), config.maxStackBytes, Math.max(0, capPages - initialPages));
  const host = new HostState(input.input ?? new Uint8Array(0), meter, config.output);
  const stats: LinkStats = { calls: 0, bytesCopied: 0 };
  let libInstance: WebAssembly.Instance | undefined;
  let contractInstance: WebAssembly.Instance | undefined;
  let outcome: Outcome | null = null;
  let trapped: unknown;
  let raisedByWasm = false;
  let values: JsonValue[] = [];
  let t1 = t0;
  let t2 = t0;
  // the Iroha profile: its host state, and the peer (or the first run's answers when repeated)
  let peer: PeerLink | null = null;
  if (input.iroha?.callback) {
    peer = input.peerReplay ? new ReplayPeer(input.peerReplay) : new HttpPeer(input.iroha.callback, config.iroha ?? DEFAULT_PEER_CONFIG, t0 + limits.timeoutMs);
  }
  const iroha = c.iroha ? new IrohaState(input.iroha!, c.iroha.entry, peer) : null;
  let verdict: IrohaReport['verdict'] = null;

  if (initialPages > capPages) {
    const parts = c.shared
      ? `one shared memory of ${initialPages} pages`
      : `contract ${contract.info.memoryPages} + library ${library?.info.memoryPages ?? 0} pages`;
    outcome = {
      kind: 'memory_limit',
      message: `initial memory of ${initialPages * PAGE} bytes (${parts}) exceeds the limit of ${limits.memoryBytes} bytes`,
    };
  } else {
    const meterImports = meter.imports();
    const sp = c.shared ? stackImports(c.shared) : { contract: {}, library: {} };
    try {
      // shared mode with a library importing its memory: the host creates the one memory
      const hostMemory = c.shared?.libraryMemory != null ? lease(initialPages, Math.min(capPages, c.shared.maxPages ?? capPages)) : undefined;
      const own = (p: PreparedModule): WebAssembly.ModuleImports => (p.memoryImport ? { [METER_GLOBALS.memory]: lease(p.memoryImport.min, p.memoryImport.max ?? undefined) } : {});
      if (library) {
        libInstance = instantiate(library.compiled, {
          host: hostImports(host, () => memoryOf(libInstance)),
          [METER_MODULE]: { ...meterImports, ...sp.library, ...own(library) },
          ...(hostMemory ? { env: { [c.shared!.libraryMemory!]: hostMemory } } : {}),
        });
        runStart(libInstance);
      }
      const imports: WebAssembly.Imports = {
        host: hostImports(host, () => memoryOf(contractInstance)),
        [METER_MODULE]: { ...meterImports, ...sp.contract, ...own(contract) },
      };
      if (iroha) imports[IROHA_MODULE] = irohaImports(iroha, host, () => guestOf(contractInstance!));
      if (c.shared) Object.assign(imports, sharedContractImports(c.shared, libInstance!, hostMemory ?? memoryOf(libInstance)!));
      else if (c.bridge.wires.length) imports[c.namespace] = bridgeImports(c.bridge, libInstance!, () => contractInstance, meter, stats);
      contractInstance = instantiate(contract.compiled, imports);
      runStart(contractInstance);
      t1 = performance.now();
      const fn = contractInstance.exports[c.entry] as (...a: unknown[]) => unknown;
      if (iroha) {
        // Iroha's convention: the context length-prefixed in the guest's memory, a verdict likewise back
        const guest = guestOf(contractInstance);
        const raw = fn(writeToGuest(guest, iroha.input.context, 'the context'));
        if (c.iroha!.returnsVerdict) verdict = readVerdict(guest, raw as number, host);
      } else {
        const raw = fn(...c.args);
        values = fromWasmResults(c.entryType, raw);
      }
    } catch (e) {
      if (t1 === t0) t1 = performance.now();
      outcome = meter.flag(MeterFlag.stackGuard) ? stackGuardOutcome(e, input, c.shared!) : classify(e, meter, limits.memoryBytes);
      // the stack guard strikes mid-block too: refund what its block was charged beyond it
      trapped = outcome.kind === 'trap' || outcome.kind === 'memory_limit' || meter.flag(MeterFlag.stackGuard) ? e : undefined;
      raisedByWasm = (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) && outcome.kind !== 'out_of_fuel';
    }
  }
  // The fast variants leave the fuel count behind when wasm traps: the run is deterministic, so run it
  // again with the exact variants, which give the same outcome with the exact fuel.
  if (raisedByWasm && (contract.localFuel || library?.localFuel)) {
    const replay = peer instanceof HttpPeer ? { peerReplay: peer.answers } : {};
    return execute({ ...input, ...replay, contract: exactVariant(contract), library: library ? exactVariant(library) : library }, config, timings);
  }
  t2 = performance.now();
  if (t1 === t0) t1 = t2;
  meter.settle([libInstance, contractInstance]);
  if (trapped !== undefined) refundTrap(trapped, input, config, meter);
  input.inspectMemory?.({ contract: memoryOf(contractInstance), library: memoryOf(libInstance) });

  const consumed = Number(meter.consumed());
  const memory = memoryReport(input, limits, capPages, initialPages, meter, libInstance, contractInstance, c.shared !== null);
  const ok = outcome === null;
  const totalMs = (timings.queueMs ?? 0) + (timings.prepareMs ?? 0) + (t2 - t0);
  return {
    ok,
    result: ok ? { values, output: host.outputBase64() } : null,
    error: outcome,
    fuel: { limit: limits.fuel, consumed, remaining: limits.fuel - consumed },
    memory,
    logs: host.finalLogs(),
    modules: {
      contract: { hash: contract.info.hash, bytes: contract.info.bytes },
      ...(library ? { library: { hash: library.info.hash, bytes: library.info.bytes } } : {}),
    },
    link: linkReport(input, stats),
    timings: {
      queueMs: round(timings.queueMs ?? 0),
      prepareMs: round(timings.prepareMs ?? 0),
      instantiateMs: round(t1 - t0),
      executeMs: round(t2 - t1),
      totalMs: round(totalMs),
    },
    ...(iroha ? { iroha: irohaReport(iroha, verdict) } : {}),
  };
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');

function irohaReport(s: IrohaState, verdict: IrohaReport['verdict']): IrohaReport {
  return { instructions: s.instructions.map(b64), queries: s.queries.map(b64), dataModel: s.dataModel ? b64(s.dataModel) : null, verdict };
}

function guestOf(i: WebAssembly.Instance): Guest {
  const e = i.exports;
  return {
    memory: e.memory as WebAssembly.Memory,
    alloc: e[IROHA_ALLOC] as Guest['alloc'],
    dealloc: e[IROHA_DEALLOC] as Guest['dealloc'],
  };
}

/** An executor's answer: a length-prefixed `Result<(), ValidationFail>` at `ptr`, read and freed. */
function readVerdict(guest: Guest, ptr: number, host: HostState): IrohaReport['verdict'] {
  let total: number;
  let payload: Uint8Array;
  try {
    ({ total, payload } = readLengthPrefixed(new Uint8Array(guest.memory.buffer), ptr >>> 0));
  } catch (e) {
    throw new HostTrap(`the executor returned no readable verdict at ${ptr >>> 0}: ${(e as Error).message}`);
  }
  guest.dealloc(ptr, total); // the payload is a copy: dealloc may reuse the bytes
  let v: IrohaVerdict;
  try {
    v = decodeVerdict(payload);
  } catch (e) {
    throw new HostTrap(`the executor returned a verdict that is not a Result<(), ValidationFail>: ${(e as Error).message}`);
  }
  return verdictReport(host, payload, v); // bounded: its bytes count as a record, its message is capped
}

function linkReport(input: ExecuteInput, stats: LinkStats): ExecutionResult['link'] {
  if (input.link?.mode === 'shared') return { mode: 'shared', calls: 0, bytesCopied: 0, stacks: input.link.stacks ?? 'two' };
  return { mode: 'bridge', calls: stats.calls, bytesCopied: stats.bytesCopied };
}

/** Pages of linear memory before anything runs: both memories (bridge) or the one memory (shared). */
function pagesAtStart(input: ExecuteInput, c: Checked): number {
  if (c.shared) return c.shared.initialPages;
  return input.contract.info.memoryPages + (input.library?.info.memoryPages ?? 0);
}

/** Instantiation; an import the static checks let through but the engine refuses is a link error. */
function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) throw linkError(e.message.replace(/^WebAssembly\.Instance\(\): /, ''));
    throw e;
  }
}

/** The stack guard fired: say whose stack ran out, and where its floor was. */
function stackGuardOutcome(e: unknown, input: ExecuteInput, plan: SharedPlan): Outcome {
  const site = trapSite(e);
  const inLibrary = !!input.library && site?.module === input.library.name;
  const stack = inLibrary ? plan.libraryStack : plan.contractStack;
  const size = stack ? `${stack.initial - stack.floor} bytes from ${hex(stack.initial)} down to ${hex(stack.floor)}` : 'unknown size';
  if (inLibrary && plan.stacks === 'two') {
    return {
      kind: 'stack_overflow',
      message: `library stack exhausted (${size}): its stack pointer would have gone below ${hex(stack!.floor)}, into the contract's data; stopped before writing there`,
    };
  }
  const whose = plan.stacks === 'one' ? `the shared stack (the contract's)` : `the contract's stack`;
  return { kind: 'stack_overflow', message: `stack exhausted: the ${inLibrary ? 'library' : 'contract'} took ${whose} to its end (${size})` };
}

function memoryOf(i: WebAssembly.Instance | undefined): WebAssembly.Memory | undefined {
  const m = i?.exports[HOOK_EXPORTS.memory];
  return m instanceof WebAssembly.Memory ? m : undefined;
}

/** Start functions run right after instantiation (deferred by the instrumenter so host calls see the instance). */
function runStart(i: WebAssembly.Instance): void {
  const start = i.exports[HOOK_EXPORTS.start];
  if (typeof start === 'function') start();
}

function refundTrap(e: unknown, input: ExecuteInput, config: EngineConfig, meter: Meter): void {
  const site = trapSite(e);
  if (!site) return;
  const owner = [input.contract, input.library].find((p) => p && p.name === site.module);
  if (owner) meter.refund(unexecutedFuel(owner, site));
}

function memoryReport(
  input: ExecuteInput,
  limits: Limits,
  capPages: number,
  initialPages: number,
  meter: Meter,
  lib: WebAssembly.Instance | undefined,
  contract: WebAssembly.Instance | undefined,
  shared: boolean,
): ExecutionResult['memory'] {
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

const round = (ms: number) => Math.round(ms * 1000) / 1000;

/** The body for a run stopped by the wall-clock backstop (its real fuel use is unknown: the limit is reported). */
export function timeoutResult(input: ExecuteInput, timings: { queueMs?: number; prepareMs?: number; executeMs: number }): ExecutionResult {
  const { contract, library, limits } = input;
  const mem = (p: PreparedModule) => ({ initialBytes: p.info.memoryPages * PAGE, peakBytes: p.info.memoryPages * PAGE });
  const initial = (contract.info.memoryPages + (library?.info.memoryPages ?? 0)) * PAGE;
  const totalMs = (timings.queueMs ?? 0) + (timings.prepareMs ?? 0) + timings.executeMs;
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
    modules: {
      contract: { hash: contract.info.hash, bytes: contract.info.bytes },
      ...(library ? { library: { hash: library.info.hash, bytes: library.info.bytes } } : {}),
    },
    link: linkReport(input, { calls: 0, bytesCopied: 0 }),
    ...(input.iroha ? { iroha: { instructions: [], queries: [], dataModel: null, verdict: null } } : {}),
    timings: {
      queueMs: round(timings.queueMs ?? 0),
      prepareMs: round(timings.prepareMs ?? 0),
      instantiateMs: 0,
      executeMs: round(timings.executeMs),
      totalMs: round(totalMs),
    },
  };
}
