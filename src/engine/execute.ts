/**
 * One linked execution (no HTTP): check the link and the call, instantiate library then contract
 * under one meter, call the entrypoint, and describe the outcome as the §3 response body. What the
 * contract imports, how its entrypoint is called and what the answer adds is its host profile's
 * (profiles/); the meter, the memories and the linking are the same for every profile.
 */
import { HostState } from './host-abi.js';
import { type LinkStats, bridgeImports } from './linking/bridge.js';
import { sharedContractImports, stackImports } from './linking/shared.js';
import { instantiate, memoryOf, runStart } from './instance.js';
import { Meter } from './meter.js';
import { PAGE, threadMemoryPool } from './memory-pool.js';
import { type Outcome, classify } from './outcome.js';
import { type PreparedModule, exactVariant, toVariant } from './prepare.js';
import { checkRequest, profileFor } from './profiles/index.js';
import { initialMemoryMessage, linkReport, memoryReport, modulesReport, timingsReport } from './report.js';
import { refundTrap, stackGuardOutcome } from './trap-report.js';
import { captureAllFrames, framesOf } from './frames.js';
import { ProfiledRun, isProfiled, profiledModules } from './fuel-profile/run.js';
import type { BeforeTimings, Checked, EngineConfig, ExecuteInput, ExecutionResult } from './execution-types.js';
import type { JsonValue } from './values.js';
import { METER_GLOBALS, METER_MODULE, MeterFlag } from '../wasm/meter-abi.js';

export type { Checked, EngineConfig, ExecuteInput, ExecutionResult, Limits, LinkOptions, ModuleMemory } from './execution-types.js';
export { timeoutResult } from './report.js';

/** Everything checked before anything runs, by the request's host profile: a bad request never starts a start function. */
export function check(input: ExecuteInput): Checked {
  return checkRequest(input);
}

/** A memory taken from this thread's pool for one execution. */
interface Lease {
  memory: WebAssembly.Memory;
  initial: number;
  maximum: number | undefined;
}

type LeaseFn = (initial: number, maximum: number | undefined) => WebAssembly.Memory;

export function execute(input: ExecuteInput, config: EngineConfig, timings: BeforeTimings = {}): ExecutionResult {
  return executeRun(input, config, timings, undefined);
}

/** `replay`: what the profile's first run left for its repetition with exact fuel (undefined on a first run). */
function executeRun(input: ExecuteInput, config: EngineConfig, timings: BeforeTimings, replay: unknown): ExecutionResult {
  const leases: Lease[] = [];
  const lease: LeaseFn = (initial, maximum) => {
    const memory = threadMemoryPool.acquire(initial, maximum);
    leases.push({ memory, initial, maximum });
    return memory;
  };
  try {
    return run(input, config, timings, lease, replay);
  } finally {
    // an embedder inspecting the memories keeps them; otherwise nothing of this execution runs again
    if (!input.inspectMemory) for (const l of leases) threadMemoryPool.release(l.memory, l.initial, l.maximum);
  }
}

function run(input: ExecuteInput, config: EngineConfig, timings: BeforeTimings, lease: LeaseFn, replay: unknown): ExecutionResult {
  const t0 = performance.now();
  const profile = profileFor(input);
  // the service checks before it takes a worker; the worker need not check again
  const c = input.checked ?? check(input);
  if (c.shared && (input.contract.variant !== 'shared' || (input.library && input.library.variant !== 'shared'))) {
    // shared linking runs the modules' shared variants (stack pointer imported and guarded)
    const shared = { ...input, contract: toVariant(input.contract, 'shared'), library: input.library ? toVariant(input.library, 'shared') : input.library };
    return executeRun(shared, config, timings, replay);
  }
  if (input.fuelProfile && !isProfiled(input.contract, input.library)) {
    return executeRun({ ...input, ...profiledModules(input.contract, input.library) }, config, timings, replay);
  }
  const { contract, library, limits } = input;
  const capPages = Math.floor(limits.memoryBytes / PAGE);
  const initialPages = c.shared ? c.shared.initialPages : contract.info.memoryPages + (library?.info.memoryPages ?? 0);
  const meter = new Meter(BigInt(limits.fuel), config.maxStackBytes, Math.max(0, capPages - initialPages));
  const host = new HostState(input.input ?? new Uint8Array(0), meter, config.output);
  const session = profile.start({ input, checked: c, config, host, meter, deadline: t0 + limits.timeoutMs, replay });
  const profiled = input.fuelProfile ? new ProfiledRun(limits.fuel, meter, input.fuelProfile.format, { contract, library }) : null;
  const hostImports = (role: 'contract' | 'library', instance: () => WebAssembly.Instance | undefined) =>
    profiled ? profiled.hostImports(role, session.imports(instance)) : session.imports(instance);
  const stats: LinkStats = { calls: 0, bytesCopied: 0 };
  let libInstance: WebAssembly.Instance | undefined;
  let contractInstance: WebAssembly.Instance | undefined;
  let outcome: Outcome | null = null;
  let thrown: unknown;
  let trapped: unknown;
  let raisedByWasm = false;
  let values: JsonValue[] = [];
  let t1 = t0;

  if (initialPages > capPages) {
    outcome = { kind: 'memory_limit', message: initialMemoryMessage(input, c.shared !== null, initialPages) };
  } else {
    const meterImports = meter.imports();
    const sp = c.shared ? stackImports(c.shared) : { contract: {}, library: {} };
    const restoreFrameLimit = captureAllFrames();
    try {
      // shared mode with a library importing its memory: the host creates the one memory
      const hostMemory = c.shared?.libraryMemory != null ? lease(initialPages, Math.min(capPages, c.shared.maxPages ?? capPages)) : undefined;
      const own = (p: PreparedModule): WebAssembly.ModuleImports => (p.memoryImport ? { [METER_GLOBALS.memory]: lease(p.memoryImport.min, p.memoryImport.max ?? undefined) } : {});
      if (library) {
        libInstance = instantiate(library.compiled, {
          ...hostImports('library', () => libInstance),
          [METER_MODULE]: { ...meterImports, ...sp.library, ...own(library), ...profiled?.hooks('library') },
          ...(hostMemory ? { env: { [c.shared!.libraryMemory!]: hostMemory } } : {}),
        });
        runStart(libInstance);
      }
      const imports: WebAssembly.Imports = {
        ...hostImports('contract', () => contractInstance),
        [METER_MODULE]: { ...meterImports, ...sp.contract, ...own(contract), ...profiled?.hooks('contract') },
      };
      if (c.shared) Object.assign(imports, sharedContractImports(c.shared, libInstance!, hostMemory ?? memoryOf(libInstance)!));
      else if (c.bridge.wires.length) {
        const wired = bridgeImports(c.bridge, libInstance!, () => contractInstance, meter, stats);
        const copies = c.bridge.wires.flatMap((w) => (w.via === 'bridge' ? [w.name] : []));
        imports[c.namespace] = profiled ? profiled.bridgeImports(c.namespace, wired, copies) : wired;
      }
      contractInstance = instantiate(contract.compiled, imports);
      runStart(contractInstance);
      t1 = performance.now();
      values = session.call(contractInstance.exports[c.entry] as (...a: unknown[]) => unknown, contractInstance);
    } catch (e) {
      if (t1 === t0) t1 = performance.now();
      thrown = e;
      outcome = meter.flag(MeterFlag.stackGuard) ? stackGuardOutcome(e, input, c.shared!) : classify(e, meter, limits.memoryBytes);
      // the stack guard strikes mid-block too: refund what its block was charged beyond it
      trapped = outcome.kind === 'trap' || outcome.kind === 'memory_limit' || meter.flag(MeterFlag.stackGuard) ? e : undefined;
      raisedByWasm = (e instanceof WebAssembly.RuntimeError || e instanceof RangeError) && outcome.kind !== 'out_of_fuel';
    } finally {
      restoreFrameLimit();
    }
  }
  // The fast variants leave the fuel count behind when wasm traps: the run is deterministic, so run it
  // again with the exact variants, which give the same outcome with the exact fuel.
  if (raisedByWasm && (contract.localFuel || library?.localFuel)) {
    const exact = { ...input, contract: exactVariant(contract), library: library ? exactVariant(library) : library };
    return executeRun(exact, config, timings, session.replay());
  }
  const t2 = performance.now();
  if (t1 === t0) t1 = t2;
  meter.settle([libInstance, contractInstance]);
  if (trapped !== undefined) refundTrap(trapped, input, meter);
  input.inspectMemory?.({ contract: memoryOf(contractInstance), library: memoryOf(libInstance) });

  const consumed = Number(meter.consumed());
  const ok = outcome === null;
  return {
    ok,
    result: ok ? { values, output: host.outputBase64() } : null,
    error: outcome && { ...session.explain(outcome, thrown), ...framesOf(thrown, input, meterStopped(outcome, meter, thrown)) },
    fuel: { limit: limits.fuel, consumed, remaining: limits.fuel - consumed },
    memory: memoryReport(input, capPages, initialPages, meter, libInstance, contractInstance, c.shared !== null),
    logs: host.finalLogs(),
    modules: modulesReport(input),
    link: linkReport(input, stats),
    timings: timingsReport(timings, t1 - t0, t2 - t1, t2 - t0),
    ...session.report(),
    ...(profiled ? { profile: profiled.report(consumed) } : {}),
  };
}

/** The innermost frame stopped at a charge of the meter (fuel or stack budget), not at one of its instructions. */
function meterStopped(outcome: Outcome, meter: Meter, thrown: unknown): boolean {
  const raised = thrown instanceof WebAssembly.RuntimeError || thrown instanceof RangeError;
  return raised && (outcome.kind === 'out_of_fuel' || (outcome.kind === 'stack_overflow' && !meter.flag(MeterFlag.stackGuard)));
}
