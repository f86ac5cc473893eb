/**
 * Spec differential: every WebAssembly core spec test script in ../shared/wasm-spec runs twice on
 * this Node's V8, once with the modules as they are and once with every instantiated module passed
 * through our instrumenter (fuel, stack budget and memory metering on, with far more fuel and stack
 * than any script needs).
 *
 * - The plain run must agree with the spec's expectations wherever JS can check them (see
 *   test/support/spec-runner.ts for what is skipped and why), except for the V8_DISAGREEMENTS below.
 * - The instrumented run must observe exactly the same thing for every command: the same values bit
 *   for bit, the same trap messages, exhaustion where the plain run had exhaustion (V8's RangeError or
 *   the instrumenter's own depth trap), and the same verdicts.
 *
 * `npm test` runs the sample of test/support/spec-files.ts `specSample` (every script but the numeric
 * tables), `npm run test:long` every script. Without ../shared/wasm-spec (it is not part of this
 * repository; CI has it beside the clone) the whole file is skipped with that reason.
 */
import { setFlagsFromString } from 'node:v8';
import t from 'tap';
import { instrument } from '../../src/wasm/instrument.js';
import { METER_GLOBALS, METER_MODULE, MeterFlag } from '../../src/wasm/meter-abi.js';
import { LONG } from '../support/long.js';
import { listScripts, specRoot, specSample } from '../support/spec-files.js';
import {
  WA,
  defaultClassify,
  outcomeKey,
  runScript,
  totals,
  type CommandReport,
  type ObservedError,
  type RunOptions,
  type ScriptReport,
} from '../support/spec-runner.js';

/**
 * Commands where V8 (this Node) genuinely disagrees with the March 2023 suite, as
 * `<script>:<line>` -> reason. Empty: Node 20's V8 passes every command the runner can check.
 * An entry that stops failing is reported, so the list cannot go stale.
 */
const V8_DISAGREEMENTS: Record<string, string> = {};

/** Ample: no script comes near it, so fuel never changes an outcome. */
const FUEL = 2n ** 62n;
/**
 * Far deeper than V8's own stack allows, so infinite recursion ends in V8's RangeError in both runs
 * (an instrumented run that hits its own limit first still counts as exhaustion, see classify).
 */
const DEPTH = 2 ** 30;
/** Every page memory.grow can get in wasm32: the budget never refuses what V8 would grant. */
const PAGES = 65536;

/** The `__meter` globals an instrumented module imports, one set per script. */
/** The instrumented run: the exact variant, or the engine's fast one (fuel kept in a local per function). */
function meteredRun(localFuel = false): RunOptions {
  const fuel = new WA.Global({ value: 'i64', mutable: true }, FUEL);
  const depth = new WA.Global({ value: 'i32', mutable: true }, DEPTH);
  const pages = new WA.Global({ value: 'i32', mutable: true }, PAGES);
  const flags = new WA.Global({ value: 'i32', mutable: true }, 0);
  const imports = {
    [METER_MODULE]: {
      [METER_GLOBALS.fuel]: fuel,
      [METER_GLOBALS.stack]: depth,
      [METER_GLOBALS.pages]: pages,
      [METER_GLOBALS.flags]: flags,
    },
  };
  return {
    transform: (bytes) => instrument(bytes, { fuel: true, stack: true, memory: true, localFuel }),
    extraImports: () => imports,
    beforeInvoke: () => {
      fuel.value = FUEL;
      depth.value = DEPTH;
      flags.value = 0;
    },
    classify: (err): ObservedError => {
      const why = flags.value as number;
      if (err instanceof WA.RuntimeError) {
        if (why & MeterFlag.stackOverflow) {
          return { kind: 'exhaustion', message: `instrumented depth limit (${err.message})` };
        }
        if (why & MeterFlag.outOfFuel) return { kind: 'out-of-fuel', message: err.message };
      }
      return defaultClassify(err);
    },
  };
}

const describeCommand = (c: CommandReport): string => {
  const verdict = c.reason ? `${c.verdict} (${c.reason})` : c.verdict;
  return `line ${c.line} ${c.type} ${c.what}: ${verdict}; observed ${JSON.stringify(c.observed)}`;
};

/** Differences between two runs of one script, described; empty when they observed the same. */
function differences(plain: ScriptReport, metered: ScriptReport): string[] {
  const out: string[] = [];
  if (plain.commands.length !== metered.commands.length) {
    out.push(`${plain.commands.length} commands in the plain run, ${metered.commands.length} instrumented`);
  }
  const n = Math.min(plain.commands.length, metered.commands.length);
  for (let i = 0; i < n; i++) {
    const a = plain.commands[i]!;
    const b = metered.commands[i]!;
    if (outcomeKey(a.observed) !== outcomeKey(b.observed) || a.verdict !== b.verdict) {
      out.push(`plain ${describeCommand(a)} | instrumented ${describeCommand(b)}`);
    }
  }
  return out;
}

function formatTotals(label: string, reports: ScriptReport[], ms: number): string {
  const x = totals(reports);
  const reasons = Object.entries(x.skipReasons)
    .map(([reason, count]) => `${count} ${reason}`)
    .join('; ');
  return (
    `${label}: ${x.scripts} scripts, ${x.commands} commands, ${x.assertions} assertions ` +
    `(${x.assertionsRun} run), ${x.passed} passed, ${x.failed} failed, ${x.skipped} skipped` +
    `${reasons ? ` [${reasons}]` : ''}, ${Math.round(ms)} ms`
  );
}

// npm test: V8 compiles with Liftoff only in this process (about a tenth of the file's CPU is TurboFan
// compiling the ~640 modules of each of the three runs for a few calls). The tiers compute the same
// values and traps, and every side is compared in the same tier; npm run test:long runs V8's default
// tiering (test/engine/stack-tiers.test.ts holds the metering to both tiers in npm test).
if (!LONG) setFlagsFromString('--liftoff-only');

const root = specRoot();
if (root === undefined) {
  t.test('spec differential', { skip: '../shared/wasm-spec is absent (CI has it)' }, () => {});
} else {
  const scripts = specSample(listScripts(root));
  const names = new Set(scripts.map((dir) => dir.slice(dir.lastIndexOf('/') + 1)));
  const plainReports: ScriptReport[] = [];
  const meteredReports: ScriptReport[] = [];
  const fastReports: ScriptReport[] = [];
  // only the entries of scripts that run can be checked for still failing
  const stillListed = new Set(Object.keys(V8_DISAGREEMENTS).filter((key) => names.has(key.slice(0, key.lastIndexOf(':')))));

  for (const dir of scripts) {
    const plain = runScript(dir);
    const metered = runScript(dir, meteredRun());
    const fast = runScript(dir, meteredRun(true));
    plainReports.push(plain);
    meteredReports.push(metered);
    fastReports.push(fast);

    await t.test(plain.name, async (t) => {
      const unexpected: string[] = [];
      for (const c of plain.commands) {
        if (c.verdict !== 'fail') continue;
        const key = `${plain.name}:${c.line}`;
        if (key in V8_DISAGREEMENTS) stillListed.delete(key);
        else unexpected.push(describeCommand(c));
      }
      t.same(unexpected, [], `plain run agrees with the spec (${unexpected.length} failures)`);

      const diffs = differences(plain, metered);
      t.same(diffs.slice(0, 20), [], `instrumented run observes the same (${diffs.length} differences)`);
      const fastDiffs = differences(plain, fast);
      t.same(fastDiffs.slice(0, 20), [], `instrumented run with the fuel in locals observes the same (${fastDiffs.length} differences)`);
    });
  }

  t.same([...stillListed], [], 'every V8_DISAGREEMENTS entry still fails (remove the ones that do not)');
  t.ok(totals(plainReports).assertionsRun > 0, 'assertions were run');
  const ms = (reports: ScriptReport[]): number => reports.reduce((sum, r) => sum + r.durationMs, 0);
  t.comment(formatTotals('plain', plainReports, ms(plainReports)));
  t.comment(formatTotals('instrumented', meteredReports, ms(meteredReports)));
  t.comment(formatTotals('instrumented, fuel in locals', fastReports, ms(fastReports)));
}
