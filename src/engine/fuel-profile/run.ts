/**
 * What a profiled execution adds to an ordinary one (execute.ts): the profiling variants of the modules,
 * the hooks among the meter's imports, the host imports and the bridge's copies wrapped as frames, and
 * the `profile` of the answer. Nothing of this exists in an ordinary run.
 */
import type { Meter } from '../meter.js';
import { type PreparedModule, profiledVariant } from '../prepare.js';
import { FuelProfiler } from './profiler.js';
import { type FuelProfileReport, type NameOf, buildReport } from './report.js';
import type { ProfileFormat } from './types.js';
import { functionName } from '../frames.js';

/** Whether every module of the input is already its profiling variant. */
export function isProfiled(contract: PreparedModule, library: PreparedModule | null | undefined): boolean {
  return contract.profiled === true && (!library || library.profiled === true);
}

/** The modules as their profiling variants (compiled once per thread). */
export function profiledModules(contract: PreparedModule, library: PreparedModule | null | undefined) {
  return { contract: profiledVariant(contract), library: library ? profiledVariant(library) : library };
}

type Role = 'contract' | 'library';

export class ProfiledRun {
  private readonly profiler: FuelProfiler;
  private readonly fuelLeft: () => number;

  constructor(
    fuelLimit: number,
    meter: Meter,
    private readonly format: ProfileFormat,
    private readonly modules: { contract: PreparedModule; library?: PreparedModule | null },
  ) {
    this.profiler = new FuelProfiler(fuelLimit);
    this.fuelLeft = () => Number(meter.fuel.value as bigint);
  }

  /** A host frame for `module`'s import `ns.name`, with the function index it has in that module. */
  private wrap(role: Role, ns: string, name: string, fn: () => unknown): () => unknown {
    let index = -1;
    let funcs = 0;
    for (const i of this.modules[role]!.info.imports) {
      if (i.kind !== 'func') continue;
      if (i.module === ns && i.name === name) index = funcs;
      funcs++;
    }
    return this.profiler.wrapHost({ kind: 'host', import: `${ns}.${name}`, module: role, index: index < 0 ? null : index }, fn, this.fuelLeft);
  }

  /** The hooks a module's profiling variant imports from the meter's module. */
  hooks(module: 'contract' | 'library'): WebAssembly.ModuleImports {
    return this.profiler.hooks(module);
  }

  /** Every function of these import modules (a host profile's, for `role`) wrapped as a host frame `module.name`. */
  hostImports(role: Role, imports: WebAssembly.Imports): WebAssembly.Imports {
    const out: WebAssembly.Imports = {};
    for (const [ns, fields] of Object.entries(imports)) {
      out[ns] = {};
      for (const [name, v] of Object.entries(fields)) out[ns][name] = typeof v === 'function' ? this.wrap(role, ns, name, v as () => unknown) : v;
    }
    return out;
  }

  /** The bridge's copying functions among the contract's imports `fields` (`names`) wrapped as host frames `namespace.name`. */
  bridgeImports(namespace: string, fields: WebAssembly.ModuleImports, names: string[]): WebAssembly.ModuleImports {
    const out = { ...fields };
    for (const name of names) out[name] = this.wrap('contract', namespace, name, fields[name] as () => unknown);
    return out;
  }

  report(consumed: number): FuelProfileReport {
    const nameOf: NameOf = (role, index) => functionName(this.modules[role]!, index);
    return buildReport(this.profiler.finish(consumed), consumed, nameOf, this.format);
  }
}
