/**
 * `npm run bench:profile [-- --baseline DIR] [-- --quick] [-- --no-write]`
 *
 * What a fuel profile costs, side by side in one run (interleaved rounds, medians, in-process): the
 * ordinary run, the profiled run (`profile: true`) and the profiled run answering speedscope, on real
 * work (kv linked with the library, naive recursive fib: a call every few instructions, the worst
 * case for the hooks). With `--baseline DIR` (a checkout of the commit before profiling existed, with
 * its node_modules), that commit's ordinary run too, against this one's in rounds of their own (its row
 * is scaled by that ratio): the ordinary path is unchanged. Every side is checked to give the same
 * answer and fuel first. Writes the table into docs/BENCHMARKS.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ROOT } from './corpus.js';
import { interleaved, machine, now, progress, table } from './util.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write') && !quick;
const baselineAt = args.indexOf('--baseline');
const baselineDir = baselineAt >= 0 ? resolve(args[baselineAt + 1]!) : null;
const ROUNDS = quick ? 5 : 200;
const BEGIN = '<!-- bench:profile:begin -->';
const END = '<!-- bench:profile:end -->';

type Engine = { execute: (input: any, config: any) => any; prep: (name: string) => any; config: any; limits: any };

async function engineAt(dir: string): Promise<Engine> {
  const ex = await import(join(dir, 'src/engine/execute.ts'));
  const pr = await import(join(dir, 'src/engine/prepare.ts'));
  const df = await import(join(dir, 'src/engine/defaults.ts'));
  const bytes = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'examples/wasm', `${name}.wasm`)));
  return {
    execute: ex.execute,
    prep: (name) => pr.prepare(bytes(name), df.DEFAULT_ENGINE_CONFIG.instrument, df.DEFAULT_ENGINE_POLICY),
    config: df.DEFAULT_ENGINE_CONFIG,
    limits: df.DEFAULT_LIMITS,
  };
}

const current = await engineAt(ROOT);
const baseline = baselineDir ? await engineAt(baselineDir) : null;

interface Work {
  name: string;
  input: (e: Engine) => Record<string, unknown>;
}
const enc = (s: string) => new TextEncoder().encode(s);
const WORK: Work[] = [
  { name: 'kv `main`, worked example (3 lines)', input: (e) => ({ contract: e.prep('kv'), library: e.prep('library'), input: enc('b=2\na=1\nc=3\n') }) },
  {
    name: 'kv `main`, 2,000 lines',
    input: (e) => ({
      contract: e.prep('kv'),
      library: e.prep('library'),
      input: enc(Array.from({ length: 2000 }, (_, i) => `key${(i * 7919) % 2000}=value ${i}`).join('\n')),
    }),
  },
  { name: '`fib(20)`: a call every 10 fuel', input: (e) => ({ contract: e.prep('fib'), entrypoint: 'fib', args: [20] }) },
];

type Side = { name: string; run: () => { r: any; ms: number } };

function sideOf(name: string, e: Engine, input: Record<string, unknown>, extra: Record<string, unknown> = {}): Side {
  return {
    name,
    run: () => {
      const t = now();
      const r = e.execute({ ...input, limits: e.limits, ...extra }, e.config);
      return { r, ms: now() - t };
    },
  };
}

const m = machine();
const lines: string[] = [
  `Measured ${m.date} on ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}${baselineDir ? ` against the checkout ${baselineDir}` : ''}; ${ROUNDS} interleaved rounds, medians, in-process (no HTTP, no worker hand-over).`,
  '',
];
for (const w of WORK) {
  progress(`profile: ${w.name}`);
  const input = w.input(current);
  const sides = [
    sideOf('ordinary', current, input),
    sideOf('profiled (json)', current, input, { fuelProfile: { format: 'json' } }),
    sideOf('profiled (speedscope)', current, input, { fuelProfile: { format: 'speedscope' } }),
  ];
  const res = interleaved(sides, ROUNDS, quick ? 3 : 30);
  if (baseline) {
    // the two ordinary runs in rounds of their own: beside the profiled runs, whichever engine is not
    // the profiled one's measured up to 1.5× slower, even for a copy of the same code
    const pair = interleaved([sideOf('ordinary, before profiling existed', baseline, w.input(baseline)), sideOf('ordinary', current, input)], ROUNDS, quick ? 3 : 30);
    const before = pair.get('ordinary, before profiling existed')!;
    res.set('ordinary, before profiling existed', { ms: (before.ms / pair.get('ordinary')!.ms) * res.get('ordinary')!.ms, r: before.r });
  }
  const base = res.get('ordinary')!;
  for (const [name, { r }] of res) {
    if (r.fuel.consumed !== base.r.fuel.consumed || JSON.stringify(r.result) !== JSON.stringify(base.r.result)) throw new Error(`${name} disagrees with the ordinary run on ${w.name}`);
    if (r.profile && r.profile.total !== r.fuel.consumed) throw new Error(`${name}: the profile does not sum to the fuel`);
  }
  const calls = res.get('profiled (json)')!.r.profile.functions.reduce((n: number, f: { calls: number }) => n + f.calls, 0);
  const order = ['ordinary, before profiling existed', 'ordinary', 'profiled (json)', 'profiled (speedscope)'].filter((n) => res.has(n));
  const rows = order.map((name) => [name, res.get(name)!.ms.toFixed(3), `${(res.get(name)!.ms / base.ms).toFixed(2)}×`]);
  lines.push(`${w.name}: ${base.r.fuel.consumed.toLocaleString('en-US')} fuel, ${calls.toLocaleString('en-US')} wasm calls`, '', table(['run', 'ms per execution', 'vs ordinary'], rows), '');
}
const out = lines.join('\n');
process.stdout.write(`${out}\n`);
if (write) {
  const path = join(ROOT, 'docs/BENCHMARKS.md');
  const doc = readFileSync(path, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`docs/BENCHMARKS.md has no ${BEGIN} … ${END}`);
  writeFileSync(path, `${doc.slice(0, a + BEGIN.length)}\n${out}\n${doc.slice(b)}`);
}
