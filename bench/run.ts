/**
 * `npm run bench [-- --quick] [-- --only=overhead,throughput,first] [-- --no-write]`
 *
 * Runs the measurements (targets in docs/BENCHMARKS.md) that need no server (fuel-metering overhead, instrumentation
 * throughput, first execution of a new module), prints the report as markdown on stdout (progress goes
 * to stderr), and replaces the results section of docs/BENCHMARKS.md (between its `bench:results`
 * markers) unless `--no-write`, `--quick` or `--only` is given: the document only ever holds a
 * complete, full-size run.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './corpus.js';
import { runFirstRun, type FirstRunResult } from './first-run.js';
import { FUEL, DEPTH, PAGES, runOverhead, type OverheadResult } from './overhead.js';
import { runThroughput, type ThroughputResult } from './throughput.js';
import { fmt, machine, now, progress, table } from './util.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const onlyArg = args.find((a) => a.startsWith('--only='));
const only = onlyArg ? new Set(onlyArg.slice('--only='.length).split(',')) : null;
const write = !args.includes('--no-write') && !quick && !only;
const want = (s: string) => !only || only.has(s);

const TARGET = { overhead: 1.1, codeGrowth: 1.5, codeMBps: 50, vsBinaryen: 10, firstRun: 1.5 };
const BEGIN = '<!-- bench:results:begin -->';
const END = '<!-- bench:results:end -->';

const started = now();
const m = machine();
const overhead = want('overhead') ? await runOverhead(quick ? { warmup: 1, rounds: 5, scale: 0.5 } : { warmup: 3, rounds: 15, scale: 1 }) : [];
const throughput = want('throughput')
  ? await runThroughput(
      quick
        ? { budgetMs: 300, minRuns: 3, maxRuns: 50, binaryenMinRuns: 1 }
        : { budgetMs: 1500, minRuns: 5, maxRuns: 200, binaryenMinRuns: 3 },
    )
  : [];
const first = want('first') ? await runFirstRun(quick ? { pairs: 4, bigPairs: 1, quick } : { pairs: 10, bigPairs: 3, quick }) : [];
const seconds = (now() - started) / 1000;

const geomean = (xs: number[]) => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

function overheadSection(rs: OverheadResult[]): string {
  const rows = rs.map((r) => [
    r.name,
    r.run,
    fmt.ms(r.medianMs.original),
    fmt.ms(r.medianMs.metered),
    `**${fmt.ratio(r.ratio.metered)}**`,
    `${r.spread[0].toFixed(2)}–${r.spread[1].toFixed(2)}`,
    fmt.ratio(r.ratio['fuel only']),
    fmt.ratio(r.ratio['stack only']),
    fmt.ratio(r.ratio.standalone),
    fmt.int(r.fuelPerRun),
    fmt.ratio(r.codeGrowth),
  ]);
  const worst = rs.reduce((a, r) => (r.ratio.metered > a.ratio.metered ? r : a));
  return [
    `### 1. Fuel-metering overhead (target ≤ ${TARGET.overhead.toFixed(2)}×)`,
    '',
    `Median of ${rs[0]?.rounds ?? 0} rounds after warm-up; times are the median single run in ms. ` +
      '"metered" is what the engine runs (fuel + stack budget + memory budget, meter in imported globals); ' +
      '"fuel only" / "stack only" instrument one of the two; "standalone" is fuel + stack budget with the meter ' +
      'globals defined inside the module instead of imported. "code ×" = instrumented / original code section size.',
    '',
    table(
      ['workload', 'one run', 'original ms', 'metered ms', 'metered / original', 'range', 'fuel only', 'stack only', 'standalone', 'fuel per run', 'code ×'],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    'Sources: ' +
      [...new Set(rs.map((r) => r.source))]
        .map((src) => `${rs.filter((r) => r.source === src).map((r) => r.name).join(', ')}: ${src}`)
        .join('; ') +
      '.',
    '',
    `Geometric mean of metered / original: **${fmt.ratio(geomean(rs.map((r) => r.ratio.metered)))}**; ` +
      `worst: ${worst.name} ${fmt.ratio(worst.ratio.metered)}.`,
  ].join('\n');
}

function throughputSection(rs: ThroughputResult[]): string {
  const rows = rs.map((r) => [
    r.name,
    fmt.int(r.totalBytes),
    fmt.int(r.codeBytes),
    fmt.ratio(r.growth),
    `${fmt.ms(r.instrumentMs)} (${r.runs})`,
    fmt.ms(r.readMs),
    fmt.ms(r.rewriteMs),
    `**${fmt.mbps(r.codeMBps)}**`,
    fmt.mbps(r.totalMBps),
    Number.isNaN(r.binaryenMs) ? '–' : `${fmt.ms(r.binaryenMs)} (${r.binaryenRuns})`,
    Number.isNaN(r.vsBinaryen) ? '–' : `**${r.vsBinaryen.toFixed(1)}×**`,
  ]);
  return [
    `### 2. Instrumentation throughput (targets ≥ ${TARGET.codeMBps} MB/s of code, ≥ ${TARGET.vsBinaryen}× binaryen.js read+write)`,
    '',
    '`instrument(bytes)` with the engine\'s options, median ms (runs in parentheses); "read" = `readModule` alone, ' +
      '"rewrite" = `instrumentModule` on the parsed module (rewrite + assemble). MB = 10⁶ bytes. ' +
      '"binaryen" = `binaryen.readBinary(bytes).emitBinary()`; "× binaryen" = binaryen ms / instrument ms.',
    '',
    table(
      ['module', 'bytes', 'code bytes', 'out / in', 'instrument ms', 'read ms', 'rewrite ms', 'MB/s code', 'MB/s total', 'binaryen ms', '× binaryen'],
      rows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  ].join('\n');
}

function firstSection(rs: FirstRunResult[]): string {
  const rows = rs.map((r) => [
    r.name,
    r.mode,
    r.what,
    fmt.ms(r.plainMs),
    fmt.ms(r.meteredMs),
    fmt.ms(r.instrumentMs),
    `**${fmt.ratio(r.ratio)}**`,
    String(r.pairs),
  ]);
  return [
    `### 3. First execution of a new module (target ≤ ${TARGET.firstRun.toFixed(1)}×)`,
    '',
    'plain = `WebAssembly.compile` + instantiate + the call; metered = `instrument` + the same; ' +
      'median ms, ratio = median over alternating pairs, a fresh module (new nonce) every time.',
    '',
    table(['module', 'V8 compilation', 'run', 'plain ms', 'metered ms', 'of which instrument', 'metered / plain', 'pairs'], rows, [
      'l',
      'l',
      'l',
      'r',
      'r',
      'r',
      'r',
      'r',
    ]),
  ].join('\n');
}

function targetsSection(): string {
  const rows: string[][] = [];
  if (overhead.length) {
    const worst = Math.max(...overhead.map((r) => r.ratio.metered));
    rows.push([
      `metering overhead ≤ ${TARGET.overhead.toFixed(2)}×`,
      `${fmt.ratio(Math.min(...overhead.map((r) => r.ratio.metered)))} – ${fmt.ratio(worst)} (geomean ${fmt.ratio(geomean(overhead.map((r) => r.ratio.metered)))})`,
      fmt.verdict(worst <= TARGET.overhead),
    ]);
    const growth = overhead.map((r) => r.codeGrowth);
    rows.push([
      `metered code ≤ ${TARGET.codeGrowth.toFixed(1)}× the original code section`,
      `${fmt.ratio(Math.min(...growth))} – ${fmt.ratio(Math.max(...growth))} over the workloads' modules`,
      fmt.verdict(Math.max(...growth) <= TARGET.codeGrowth),
    ]);
  }
  if (throughput.length) {
    const largest = throughput.reduce((a, r) => (r.totalBytes > a.totalBytes ? r : a));
    const low = Math.min(...throughput.map((r) => r.codeMBps));
    rows.push([
      `instrumentation ≥ ${TARGET.codeMBps} MB/s of code`,
      `${fmt.mbps(largest.codeMBps)} MB/s on the largest module (${fmt.bytes(largest.totalBytes)}); lowest ${fmt.mbps(low)}`,
      fmt.verdict(low >= TARGET.codeMBps),
    ]);
    const vs = throughput.filter((r) => !Number.isNaN(r.vsBinaryen));
    if (vs.length) {
      const lowVs = Math.min(...vs.map((r) => r.vsBinaryen));
      rows.push([
        `≥ ${TARGET.vsBinaryen}× binaryen.js read+write`,
        `${largest.vsBinaryen.toFixed(1)}× on the largest module; ${lowVs.toFixed(1)}× – ${Math.max(...vs.map((r) => r.vsBinaryen)).toFixed(1)}×`,
        fmt.verdict(lowVs >= TARGET.vsBinaryen),
      ]);
    }
  }
  const main1MiB = first.filter((r) => r.name.startsWith('generated'));
  if (main1MiB.length) {
    rows.push([
      `first run of a new 1 MiB module sent inline, instrumented on the spot (the target is for a module PUT first: \`npm run bench:first-stored\`) ≤ ${TARGET.firstRun.toFixed(1)}×`,
      main1MiB.map((r) => `${fmt.ratio(r.ratio)} (${r.mode})`).join(', '),
      fmt.verdict(main1MiB.every((r) => r.ratio <= TARGET.firstRun)),
    ]);
  }
  return ['### Targets', '', table(['target', 'measured', 'verdict'], rows)].join('\n');
}

const header = [
  `Run of \`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}\` — ${m.date}, ${seconds.toFixed(0)} s in total.`,
  '',
  `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB; ${m.platform}`,
  `- Node ${m.node} (V8 ${m.v8}); commit ${m.commit}`,
  `- Meter for instrumented runs: fuel ${FUEL === 2n ** 62n ? '2^62' : String(FUEL)}, stack budget ${DEPTH.toLocaleString('en-US')}, ` +
    `pages ${PAGES}, flags 0; instrumented with the engine's options (memory cap 4096 pages, table cap 10,000).`,
].join('\n');

const sections = [header, targetsSection()];
if (overhead.length) sections.push(overheadSection(overhead));
if (throughput.length) sections.push(throughputSection(throughput));
if (first.length) sections.push(firstSection(first));
const report = sections.join('\n\n');

process.stdout.write(`${report}\n`);

if (write) {
  const path = join(ROOT, 'docs', 'BENCHMARKS.md');
  let doc: string;
  try {
    doc = readFileSync(path, 'utf8');
  } catch {
    doc = '';
  }
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) {
    progress(`docs/BENCHMARKS.md has no ${BEGIN} … ${END} markers: results not written`);
  } else {
    writeFileSync(path, `${doc.slice(0, a + BEGIN.length)}\n${report}\n${doc.slice(b)}`);
    progress('results written to docs/BENCHMARKS.md');
  }
}
