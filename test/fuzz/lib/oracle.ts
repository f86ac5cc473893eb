/**
 * The wasmtime side of the fuzz cases: test/fuzz/wasmtime_fuzz.py runs the same steps with the same
 * host functions on real wasmtime (consume_fuel), and `compareOracle` holds our fuel to it:
 * - a call that finishes on both: the same fuel (docs/FUEL-PARITY.md: our fuel copies wasmtime's),
 *   the same values and the same logged import calls;
 * - a call that traps on both: wasmtime's fuel ≤ ours (exact variant), as FUEL-PARITY.md says (we
 *   charge the trapping block up front; wasmtime does not save its counter at a trap);
 * - the instantiation (start function): outcome only (wasmtime adds its startup code, FUEL-PARITY.md);
 * - after the last step: the globals and the memory's sha256.
 */
import path from 'node:path';
import { findOracle, runPythonJson } from '../../support/wasmtime-diff.js';
import type { Finding, OracleJob } from './case.js';
import { ROOT } from './generate.js';

export { findOracle };

interface TheirStep {
  kind: string;
  values?: string[];
  message?: string;
  fuel: number;
  logs: string[];
}
interface TheirResult {
  seed: number;
  steps: TheirStep[];
  globals: string[];
  memoryHash: string | null;
}

export function runWasmtime(python: string, jobs: OracleJob[]): Promise<{ version: string; results: TheirResult[] }> {
  return runPythonJson(python, path.join(ROOT, 'test/fuzz/wasmtime_fuzz.py'), { jobs }, 'wasmtime oracle');
}

export interface OracleCounts {
  modules: number;
  /** Calls whose fuel was compared exactly (finished on both). */
  fuelEqual: number;
  /** Calls that trapped on both (wasmtime ≤ ours). */
  trapCalls: number;
}

export function compareOracle(job: OracleJob, theirs: TheirResult, counts: OracleCounts): Finding[] {
  const findings: Finding[] = [];
  const f = (detail: string, step?: string) => findings.push({ seed: job.seed, check: 'wasmtime', detail, ...(step && { step }) });
  counts.modules++;
  const n = job.ours.length;
  let allRan = true;
  for (let k = 0; k < n; k++) {
    const what = job.steps[k]!.what;
    const o = job.ours[k]!;
    const t = theirs.steps[k];
    if (!t) {
      f(`wasmtime stopped before this step`, what);
      return findings;
    }
    if (o.outcome.kind === 'stack-overflow' || t.kind === 'stack-overflow') {
      allRan = false;
      break; // each engine's own stack: not compared
    }
    if (o.outcome.kind !== t.kind) {
      f(`outcome ours ${o.outcome.kind}${'message' in o.outcome ? ` (${o.outcome.message})` : ''}, wasmtime ${t.kind}${t.message ? ` (${t.message})` : ''}`, what);
      return findings;
    }
    if (o.logs.length !== t.logs.length || o.logs.some((x, i) => x !== t.logs[i])) {
      const i = o.logs.findIndex((x, j) => x !== t.logs[j]);
      f(`logged import calls differ at ${i}: ${o.logs[i]} vs ${t.logs[i]} (${o.logs.length} vs ${t.logs.length})`, what);
      return findings;
    }
    if (o.outcome.kind === 'ok') {
      const a = o.outcome.values.join(' ');
      const b = (t.values ?? []).join(' ');
      if (a !== b) f(`values ours ${a}, wasmtime ${b}`, what);
      if (k > 0) {
        if (BigInt(o.fuel) !== BigInt(t.fuel)) f(`fuel ours ${o.fuel}, wasmtime ${t.fuel}`, what);
        else counts.fuelEqual++;
      }
    } else if (o.outcome.kind === 'trap') {
      counts.trapCalls++;
      if (k > 0 && BigInt(t.fuel) > BigInt(o.exactFuel)) f(`trap: wasmtime ${t.fuel} > ours (exact) ${o.exactFuel}`, what);
    }
    if (o.outcome.kind !== 'ok' && (k === 0 || o.outcome.kind !== 'trap')) break;
  }
  if (allRan && theirs.steps.length === n) {
    const a = job.finalGlobals.join(' ');
    const b = theirs.globals.join(' ');
    if (theirs.globals.length && a !== b) f(`final globals ours ${a}, wasmtime ${b}`);
    if (job.memoryHash && theirs.memoryHash && job.memoryHash !== theirs.memoryHash) f('final memory differs (sha256)');
  }
  return findings;
}
