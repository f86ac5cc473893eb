/**
 * One linked execution (no HTTP): check the link and the call, instantiate library then contract
 * under one meter, call the entrypoint, and describe the outcome as the §3 response body.
 */
import { linkError, badRequest } from './errors.js';
import { HOST_SIGNATURES, HostState, type LogLine, type OutputLimits, hostImports } from './host-abi.js';
import { type BridgePlan, type LinkStats, bridgeImports, planBridge } from './linking/bridge.js';
import { Meter } from './meter.js';
import { type Outcome, classify, trapSite } from './outcome.js';
import { type InstrumentSettings, type ModuleInfo, type PreparedModule, exactVariant } from './prepare.js';
import { unexecutedFuel } from './refund.js';
import { type JsonValue, checkSignatureSupported, fromWasmResults, toWasmArgs } from './values.js';
import { type FuncType, formatFuncType, sameFuncType } from '../wasm/module.js';
import { HOOK_EXPORTS, METER_MODULE } from '../wasm/meter-abi.js';

export const PAGE = 65536;

export interface EngineConfig {
  instrument: InstrumentSettings;
  maxCallDepth: number;
  output: OutputLimits;
}

export interface Limits {
  fuel: number;
  memoryBytes: number;
  timeoutMs: number;
}

export interface LinkOptions {
  mode?: 'bridge' | 'shared';
  namespace?: string;
  ffi?: string;
}

export interface ExecuteInput {
  contract: PreparedModule;
  library?: PreparedModule | null;
  link?: LinkOptions;
  entrypoint?: string;
  args?: unknown[];
  input?: Uint8Array;
  limits: Limits;
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
  link: { mode: 'bridge' | 'shared'; calls: number; bytesCopied: number };
  timings: { queueMs: number; prepareMs: number; instantiateMs: number; executeMs: number; totalMs: number };
}

/** Everything checked before anything runs: a bad request never starts a start function. */
export interface Checked {
  entry: string;
  entryType: FuncType;
  args: Array<number | bigint>;
  bridge: BridgePlan;
  namespace: string;
}

export function check(input: ExecuteInput): Checked {
  const mode = input.link?.mode ?? 'bridge';
  if (mode === 'shared') throw linkError('link mode `shared` is not supported yet: use `bridge`');
  const namespace = input.link?.namespace ?? 'lib';
  if (namespace === 'host' || namespace === METER_MODULE) throw badRequest(`link namespace \`${namespace}\` is reserved`);
  const contract = input.contract.info;
  const library = input.library?.info ?? null;
  checkImports(contract, 'contract', [namespace]);
  if (library) checkImports(library, 'library', []);
  const bridge = planBridge(contract, library, namespace, input.link?.ffi);

  const entry = input.entrypoint ?? 'main';
  const exp = contract.exports.find((e) => e.name === entry);
  if (!exp || exp.kind !== 'func') {
    const funcs = contract.exports.filter((e) => e.kind === 'func').map((e) => e.name);
    throw badRequest(`the contract exports no function \`${entry}\` (its functions: ${funcs.join(', ') || 'none'})`);
  }
  const entryType = exp.type!;
  checkSignatureSupported(entryType, entry);
  const args = toWasmArgs(entryType, input.args ?? [], entry);
  return { entry, entryType, args, bridge, namespace };
}

function checkImports(info: ModuleInfo, role: string, allowed: string[]): void {
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
    if (allowed.includes(imp.module)) continue;
    if (imp.kind === 'memory') {
      throw linkError(`${what} (a memory): in bridge mode each module has its own memory; export it instead`);
    }
    throw linkError(`${what}: unknown import module \`${imp.module}\` (known: host${allowed.map((a) => `, ${a}`).join('')})`);
  }
}

export function execute(input: ExecuteInput, config: EngineConfig, timings: { queueMs?: number; prepareMs?: number } = {}): ExecutionResult {
  const t0 = performance.now();
  const c = check(input);
  const { contract, library } = input;
  const limits = input.limits;
  const capPages = Math.floor(limits.memoryBytes / PAGE);
  const initialPages = contract.info.memoryPages + (library?.info.memoryPages ?? 0);
  const meter = new Meter(BigInt(limits.fuel), config.maxCallDepth, Math.max(0, capPages - initialPages));
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

  if (initialPages > capPages) {
    outcome = {
      kind: 'memory_limit',
      message: `initial memory of ${initialPages * PAGE} bytes (contract ${contract.info.memoryPages} + library ${library?.info.memoryPages ?? 0} pages) exceeds the limit of ${limits.memoryBytes} bytes`,
    };
  } else {
    const meterImports = meter.imports();
    const memOf = (i: WebAssembly.Instance | undefined) => {
      const m = i?.exports[HOOK_EXPORTS.memory];
      return m instanceof WebAssembly.Memory ? m : undefined;
    };
    try {
      if (library) {
        libInstance = new WebAssembly.Instance(library.compiled, {
          host: hostImports(host, () => memOf(libInstance)),
          [METER_MODULE]: meterImports,
        });
        runStart(libInstance);
      }
      const imports: WebAssembly.Imports = {
        host: hostImports(host, () => memOf(contractInstance)),
        [METER_MODULE]: meterImports,
      };
      if (c.bridge.wires.length) imports[c.namespace] = bridgeImports(c.bridge, libInstance!, () => contractInstance, meter, stats);
      contractInstance = new WebAssembly.Instance(contract.compiled, imports);
      runStart(contractInstance);
      t1 = performance.now();
      const fn = contractInstance.exports[c.entry] as (...a: unknown[]) => unknown;
      const raw = fn(...c.args);
      values = fromWasmResults(c.entryType, raw);
    } catch (e) {
      if (t1 === t0) t1 = performance.now();
      outcome = classify(e, meter, limits.memoryBytes);
      trapped = outcome.kind === 'trap' || outcome.kind === 'memory_limit' ? e : undefined;
      raisedByWasm = (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) && outcome.kind !== 'out_of_fuel';
    }
  }
  // The fast variants leave the fuel count behind when wasm traps: the run is deterministic, so run it
  // again with the exact variants, which give the same outcome with the exact fuel.
  if (raisedByWasm && (contract.localFuel || library?.localFuel)) {
    return execute({ ...input, contract: exactVariant(contract), library: library ? exactVariant(library) : library }, config, timings);
  }
  t2 = performance.now();
  if (t1 === t0) t1 = t2;
  meter.settle([libInstance, contractInstance]);
  if (trapped !== undefined) refundTrap(trapped, input, config, meter);

  const consumed = Number(meter.consumed());
  const memory = memoryReport(input, limits, capPages, meter, libInstance, contractInstance);
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
    link: { mode: 'bridge', calls: stats.calls, bytesCopied: stats.bytesCopied },
    timings: {
      queueMs: round(timings.queueMs ?? 0),
      prepareMs: round(timings.prepareMs ?? 0),
      instantiateMs: round(t1 - t0),
      executeMs: round(t2 - t1),
      totalMs: round(totalMs),
    },
  };
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
  meter: Meter,
  lib: WebAssembly.Instance | undefined,
  contract: WebAssembly.Instance | undefined,
): ExecutionResult['memory'] {
  const initialPages = input.contract.info.memoryPages + (input.library?.info.memoryPages ?? 0);
  const grown = initialPages > capPages ? 0 : Math.max(0, capPages - initialPages - (meter.pages.value as number));
  // refused before instantiation: nothing was allocated
  const refused = initialPages > capPages;
  const one = (p: PreparedModule, i: WebAssembly.Instance | undefined): ModuleMemory => {
    const initialBytes = p.info.memoryPages * PAGE;
    const mem = i?.exports[HOOK_EXPORTS.memory];
    const peakBytes = refused ? 0 : mem instanceof WebAssembly.Memory ? mem.buffer.byteLength : initialBytes;
    return { initialBytes, peakBytes };
  };
  return {
    limitBytes: limits.memoryBytes,
    peakBytes: refused ? 0 : (initialPages + grown) * PAGE,
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
    link: { mode: 'bridge', calls: 0, bytesCopied: 0 },
    timings: {
      queueMs: round(timings.queueMs ?? 0),
      prepareMs: round(timings.prepareMs ?? 0),
      instantiateMs: 0,
      executeMs: round(timings.executeMs),
      totalMs: round(totalMs),
    },
  };
}
