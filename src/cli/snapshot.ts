/**
 * `snapshot FILE.json [--out SNAPSHOT.json] [--check BASELINE.json] [--tolerance PCT]`: fuel per call, for
 * CI (as Foundry's `forge snapshot`). FILE is `batch`'s: a JSON array of `run` argument lists, run in
 * order. The snapshot names each call by its arguments (joined by spaces) and gives its outcome and fuel.
 * With --check, each call is compared with the baseline's call of the same name: a call whose fuel grew
 * by more than PCT percent, or whose outcome changed, fails the check (exit 1); shrunk, new and gone calls
 * are listed without failing it.
 */
import { badRequest } from '../engine/errors.js';
import type { FuelProfileReport } from '../engine/fuel-profile/report.js';
import { HELP, parseSnapshotArgs } from './args.js';
import { readCalls, runCalls } from './batch.js';
import { readText, writeBytes } from './files.js';
import { EXIT, printJson } from './output.js';
import { SNAPSHOT_USAGE } from './usage.js';

export interface SnapshotCall {
  /** The call's `run` arguments, joined by spaces. */
  call: string;
  /** `ok`, an outcome kind (`trap`, `out_of_fuel`…), or `refused: <error kind>` (nothing ran). */
  outcome: string;
  /** fuel.consumed; null when refused. */
  fuel: number | null;
  /** With --profile: the fuel of each function's own code (and of each host import), `contract:12 kv::insert_lines` → self. */
  functions?: Record<string, number>;
}

export interface Snapshot {
  unit: 'fuel';
  calls: SnapshotCall[];
}

export async function snapshotCommand(argv: string[]): Promise<number> {
  const args = parseSnapshotArgs(argv);
  if (args === HELP) {
    process.stdout.write(SNAPSHOT_USAGE);
    return EXIT.ok;
  }
  const baseline = args.check === undefined ? null : readSnapshot(args.check);
  const calls: SnapshotCall[] = [];
  for (const { args: callArgs, answer } of await runCalls(readCalls(args.file), args.profile)) {
    const call = callArgs.join(' ');
    if (calls.some((c) => c.call === call)) throw badRequest(`FILE: the call \`${call}\` is there twice (a snapshot names calls by their arguments)`);
    if ('result' in answer) {
      const profile = answer.result.profile;
      calls.push({ call, outcome: answer.result.ok ? 'ok' : answer.result.error!.kind, fuel: answer.result.fuel.consumed, ...(profile ? { functions: perFunction(profile) } : {}) });
    } else calls.push({ call, outcome: `refused: ${answer.requestError.kind}`, fuel: null });
  }
  const snapshot: Snapshot = { unit: 'fuel', calls };
  if (args.out !== undefined) writeBytes(args.out, new TextEncoder().encode(`${JSON.stringify(snapshot, null, 2)}\n`), '--out');
  else if (!baseline) printJson(snapshot);
  if (!baseline) return EXIT.ok;
  const { lines, failed } = compare(snapshot, baseline, args.tolerance);
  process.stdout.write(`${lines.join('\n')}\n`);
  return failed ? EXIT.outcome : EXIT.ok;
}

/** A profile's rows by a stable name: `contract:12 kv::insert_lines`, `host host.log`, `(other)`. */
function perFunction(p: FuelProfileReport): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of p.functions) out[f.module === null ? '(other)' : `${f.module}:${f.index}${f.name ? ` ${f.name}` : ''}`] = f.self;
  for (const h of p.host) out[`host ${h.module ? `${h.module}:` : ''}${h.import}`] = h.fuel;
  return out;
}

function readSnapshot(path: string): Snapshot {
  const text = readText(path, '--check BASELINE.json');
  let s: unknown;
  try {
    s = JSON.parse(text);
  } catch (e) {
    throw badRequest(`--check ${path}: not JSON (${(e as Error).message})`);
  }
  const calls = (s as Snapshot | null)?.calls;
  const valid =
    (s as Snapshot | null)?.unit === 'fuel' &&
    Array.isArray(calls) &&
    calls.every((c) => typeof c?.call === 'string' && typeof c.outcome === 'string' && (c.fuel === null || Number.isSafeInteger(c.fuel)));
  if (!valid) throw badRequest(`--check ${path}: not a snapshot (write one with \`snapshot FILE.json --out ${path}\`)`);
  return s as Snapshot;
}

/** The check's report, a line per call that is not unchanged and a summary; failed when a call grew or changed outcome. */
export function compare(now: Snapshot, base: Snapshot, tolerancePct: number): { lines: string[]; failed: boolean } {
  const before = new Map(base.calls.map((c) => [c.call, c]));
  const count = { grew: 0, changed: 0, shrank: 0, unchanged: 0, new: 0, gone: 0 };
  const lines: string[] = [];
  const pct = (a: number, b: number) => `${b > a ? '+' : ''}${(((b - a) / a) * 100).toFixed(2)}%`;
  for (const c of now.calls) {
    const b = before.get(c.call);
    before.delete(c.call);
    if (!b) {
      count.new++;
      lines.push(`new        ${c.call}: ${c.outcome}, ${c.fuel ?? '-'}`);
    } else if (b.outcome !== c.outcome) {
      count.changed++;
      lines.push(`changed    ${c.call}: ${b.outcome} → ${c.outcome} (fuel ${b.fuel ?? '-'} → ${c.fuel ?? '-'})`);
    } else if (c.fuel === null || b.fuel === null || c.fuel === b.fuel || c.outcome === 'timeout') {
      count.unchanged++;
    } else if (c.fuel > b.fuel) {
      const over = c.fuel > b.fuel * (1 + tolerancePct / 100);
      if (over) count.grew++;
      else count.unchanged++;
      lines.push(`${over ? 'grew      ' : 'grew (ok) '} ${c.call}: ${b.fuel} → ${c.fuel} (+${c.fuel - b.fuel}, ${b.fuel ? pct(b.fuel, c.fuel) : 'from 0'})`);
    } else {
      count.shrank++;
      lines.push(`shrank     ${c.call}: ${b.fuel} → ${c.fuel} (${c.fuel - b.fuel}, ${pct(b.fuel, c.fuel)})`);
    }
  }
  for (const b of before.values()) {
    count.gone++;
    lines.push(`gone       ${b.call}`);
  }
  lines.push(
    `${now.calls.length} calls: ${count.grew} grew, ${count.changed} changed outcome, ${count.shrank} shrank, ${count.unchanged} unchanged, ${count.new} new, ${count.gone} gone (tolerance ${tolerancePct}%)`,
  );
  return { lines, failed: count.grew + count.changed > 0 };
}
