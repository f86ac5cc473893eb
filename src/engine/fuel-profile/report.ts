/**
 * The `profile` object of an answer (docs/PROFILING.md) from what the profiler kept: functions sorted by
 * the fuel of their own code, the call graph's edges, the host imports; bounded in size (the top rows,
 * the rest summed in one `(other)` row), and, when asked, the profile in another format.
 */
import type { EdgeStats, FrameStats, ProfilerResult } from './profiler.js';
import type { ProfileData, ProfileFormat, ProfileFrame } from './types.js';
import { toSpeedscope, type SpeedscopeFile } from './speedscope.js';
import { toCollapsed } from './collapsed.js';
import { toPprof } from './pprof.js';

/** At most this many function rows (then one `(other)` row), edges and host rows (then `(other)`). */
export const MAX_FUNCTIONS = 256;
export const MAX_EDGES = 256;
export const MAX_HOST = 64;
/** Names in a profile are cut to this many characters, then `…`. */
export const PROFILE_MAX_NAME = 256;

export interface FunctionRow {
  module: 'contract' | 'library' | null;
  index: number | null;
  name: string | null;
  self: number;
  total: number | null;
  calls: number;
}

export interface EdgeRow {
  caller: string;
  callee: string;
  calls: number;
  fuel: number;
}

export interface HostRow {
  import: string;
  /** The module that imports it, and its name for the import (name section, demangled), or null. */
  module: 'contract' | 'library' | null;
  name: string | null;
  calls: number;
  fuel: number;
}

export interface FuelProfileReport {
  unit: 'fuel';
  total: number;
  functions: FunctionRow[];
  edges: EdgeRow[];
  /** Edges left out beyond MAX_EDGES (the least fuel). */
  edgesOmitted: number;
  host: HostRow[];
  format?: Exclude<ProfileFormat, 'json'>;
  /** The profile in `format`: a speedscope file, collapsed stacks text, or pprof's protobuf in base64. */
  data?: SpeedscopeFile | string;
}

export type NameOf = (module: 'contract' | 'library', index: number) => string | null;

const cut = (s: string | null) => (s !== null && s.length > PROFILE_MAX_NAME ? `${s.slice(0, PROFILE_MAX_NAME)}…` : s);
const moduleOrder = (m: string | null) => (m === 'contract' ? 0 : 1);

export function buildReport(r: ProfilerResult, total: number, nameOf: NameOf, format: ProfileFormat): FuelProfileReport {
  const frames: ProfileFrame[] = r.frames.map((f) => {
    if (f.kind === 'host') {
      // an import called by a module: the module's own name for it says what the author called
      const name = f.module !== null && f.index !== null ? cut(nameOf(f.module, f.index)) : null;
      return { kind: 'host', module: f.module, index: f.index, name, label: name ? `${name} [${f.import}]` : f.import };
    }
    const name = cut(nameOf(f.module, f.index));
    return { kind: 'wasm', module: f.module, index: f.index, name, label: `${f.module}:${name ?? f.index}` };
  });
  const id = (i: number) => `${frames[i]!.module}:${frames[i]!.index}`;

  const wasm = r.stats.flatMap((s, i) => (frames[i]!.kind === 'wasm' ? [{ s, f: frames[i]! }] : []));
  wasm.sort((a, b) => b.s.self - a.s.self || moduleOrder(a.f.module) - moduleOrder(b.f.module) || a.f.index! - b.f.index!);
  const functions: FunctionRow[] = wasm.slice(0, MAX_FUNCTIONS).map(({ s, f }) => ({ module: f.module, index: f.index, name: f.name, self: s.self, total: s.total, calls: s.calls }));
  if (wasm.length > MAX_FUNCTIONS) functions.push(otherFunctions(wasm.slice(MAX_FUNCTIONS).map((w) => w.s)));

  const edges = r.edges.slice().sort((a, b) => b.fuel - a.fuel || cmp(id(a.caller), id(b.caller)) || cmp(id(a.callee), id(b.callee)));
  const edgeRows = edges.slice(0, MAX_EDGES).map((e: EdgeStats) => ({ caller: id(e.caller), callee: id(e.callee), calls: e.calls, fuel: e.fuel }));

  const hosts = r.frames.flatMap((f, i) => (f.kind === 'host' && (r.stats[i]!.calls > 0 || r.stats[i]!.self !== 0) ? [{ s: r.stats[i]!, f, p: frames[i]! }] : []));
  hosts.sort((a, b) => b.s.self - a.s.self || cmp(a.f.import, b.f.import) || moduleOrder(a.f.module) - moduleOrder(b.f.module));
  const host: HostRow[] = hosts.slice(0, MAX_HOST).map(({ s, f, p }) => ({ import: f.import, module: f.module, name: p.name, calls: s.calls, fuel: s.self }));
  if (hosts.length > MAX_HOST) {
    const rest = hosts.slice(MAX_HOST);
    host.push({ import: '(other)', module: null, name: null, calls: rest.reduce((n, h) => n + h.s.calls, 0), fuel: rest.reduce((n, h) => n + h.s.self, 0) });
  }

  const report: FuelProfileReport = { unit: 'fuel', total, functions, edges: edgeRows, edgesOmitted: Math.max(0, edges.length - MAX_EDGES), host };
  if (format === 'json') return report;
  const data: ProfileData = { total, frames, tree: r.tree };
  return { ...report, format, data: format === 'speedscope' ? toSpeedscope(data, 'fuel') : format === 'collapsed' ? toCollapsed(data) : Buffer.from(toPprof(data)).toString('base64') };
}

function otherFunctions(rest: FrameStats[]): FunctionRow {
  return { module: null, index: null, name: '(other)', self: rest.reduce((n, s) => n + s.self, 0), total: null, calls: rest.reduce((n, s) => n + s.calls, 0) };
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
