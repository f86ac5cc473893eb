/**
 * `npm run bench:modes [-- --quick] [-- --no-write]`
 *
 * The same real work (the Rust `kv` contract: a library map built from the input, encoded, hashed)
 * linked the three ways: bridge (kv + library), shared with two stacks and with one (kv-shared +
 * library-shared), standalone (kv-standalone). Sizes of the modules; fuel and time per execution,
 * interleaved in one run so the ratios hold on a noisy machine; and the stack guard's cost (the
 * shared library with and without its checks, on kv and on a deep recursion). Every side is checked
 * to give the same answer before it is timed. Writes the results into docs/EXAMPLES.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, DEFAULT_LIMITS } from '../src/engine/defaults.js';
import { type ExecuteInput, type ExecutionResult, execute } from '../src/engine/execute.js';
import { type PreparedModule, prepare, toVariant, variantOptions } from '../src/engine/prepare.js';
import { instrumentModule } from '../src/wasm/instrument.js';
import { SectionId } from '../src/wasm/module.js';
import { readModule } from '../src/wasm/reader.js';
import { ROOT } from './corpus.js';
import { interleaved, machine, now, progress, table } from './util.js';

const f = (x: number, digits?: number) => (digits === undefined ? x.toLocaleString('en-US') : x.toFixed(digits));

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const write = !args.includes('--no-write') && !quick;
const ROUNDS = quick ? 5 : 400;
const BEGIN = '<!-- bench:modes:begin -->';
const END = '<!-- bench:modes:end -->';

const bytes = (name: string) => new Uint8Array(readFileSync(join(ROOT, 'examples/wasm', `${name}.wasm`)));
const prep = (name: string) => prepare(bytes(name), DEFAULT_ENGINE_CONFIG.instrument, DEFAULT_ENGINE_POLICY);
const codeBytes = (b: Uint8Array) => {
  const s = readModule(b).sections.find((x) => x.id === SectionId.code);
  return s ? s.end - s.start : 0;
};

/** The shared variant with the stack guard's checks left out (to measure what they cost). */
function unguarded(p: PreparedModule): PreparedModule {
  const s = toVariant(p, 'shared');
  const out = instrumentModule(readModule(s.original), { ...variantOptions(s), stackGuard: false });
  return { ...s, compiled: new WebAssembly.Module(out.bytes as BufferSource), bodyStarts: out.bodyStarts };
}

const kv = prep('kv');
const library = prep('library');
const kvShared = toVariant(prep('kv-shared'), 'shared');
const libShared = toVariant(prep('library-shared'), 'shared');
const standalone = prep('kv-standalone');

const INPUTS: Record<string, Uint8Array> = {
  'worked example (3 lines)': new TextEncoder().encode('b=2\na=1\nc=3\n'),
  '2,000 lines': new TextEncoder().encode(Array.from({ length: 2000 }, (_, i) => `key${(i * 7919) % 2000}=value ${i}`).join('\n')),
};

type Side = { name: string; input: Omit<ExecuteInput, 'limits' | 'input'> };
const SIDES: Side[] = [
  { name: 'bridge', input: { contract: kv, library } },
  { name: 'shared, two stacks', input: { contract: kvShared, library: libShared, link: { mode: 'shared' } } },
  { name: 'shared, one stack', input: { contract: kvShared, library: libShared, link: { mode: 'shared', stacks: 'one' } } },
  { name: 'standalone', input: { contract: standalone } },
];

function runOnce(side: Side['input'], input: Uint8Array, extra: Partial<ExecuteInput> = {}): { r: ExecutionResult; ms: number } {
  const t = now();
  const r = execute({ ...side, input, limits: DEFAULT_LIMITS, ...extra }, DEFAULT_ENGINE_CONFIG);
  return { r, ms: now() - t };
}

function measure(sides: Array<{ name: string; run: () => { r: ExecutionResult; ms: number } }>): Map<string, { ms: number; r: ExecutionResult }> {
  return interleaved(sides, ROUNDS, quick ? 3 : 40);
}

const m = machine();
const lines: string[] = [];
lines.push(`Measured ${m.date} on ${m.cpu} (${m.cores} cores), Node ${m.node}, commit ${m.commit}; ${ROUNDS} interleaved rounds, medians, in-process (no HTTP, no worker hand-over).`, '');

// sizes
{
  const rows = [
    ['kv.wasm', 'bridge contract'],
    ['kv-shared.wasm', 'shared-mode contract'],
    ['kv-standalone.wasm', 'standalone contract (library code linked in)'],
    ['library.wasm', 'library (bridge)'],
    ['library-shared.wasm', 'library (shared mode)'],
  ].map(([file, what]) => {
    const b = bytes(file!.replace('.wasm', ''));
    return [file!, what!, f(b.length), f(codeBytes(b))];
  });
  const standaloneSize = bytes('kv-standalone').length;
  lines.push('### Module sizes', '', table(['module', 'what', 'bytes', 'code section bytes'], rows), '');
  lines.push(
    `A linked contract is ${f(standaloneSize / bytes('kv').length, 1)}× (bridge) and ${f(standaloneSize / bytes('kv-shared').length, 1)}× (shared) smaller than the standalone one doing the same work; the library (${f(bytes('library').length)} bytes) is stored once for every contract.`,
    '',
  );
}

// fuel and time per mode
lines.push('### Fuel and time per execution, same work', '');
for (const [label, input] of Object.entries(INPUTS)) {
  progress(`modes: ${label}`);
  const res = measure(SIDES.map((s) => ({ name: s.name, run: () => runOnce(s.input, input) })));
  const base = res.get('bridge')!;
  for (const [name, { r }] of res) {
    if (!r.ok || r.result!.output !== base.r.result!.output) throw new Error(`${name} disagrees with bridge on ${label}: ${JSON.stringify(r.error)}`);
  }
  const rows = [...res].map(([name, { ms, r }]) => [
    name,
    f(r.fuel.consumed),
    f(r.fuel.consumed / base.r.fuel.consumed, 3),
    `${f(r.link.calls)} / ${f(r.link.bytesCopied)}`,
    f(ms, 3),
    `${f(ms / base.ms, 2)}×`,
  ]);
  lines.push(`kv \`main\`, input: ${label} (same output on every side)`, '', table(['mode', 'fuel', 'fuel vs bridge', 'host hops / bytes copied', 'ms per execution', 'time vs bridge'], rows), '');
}

// the guard's cost, and one stack against two
lines.push('### The stack guard, and one stack against two', '');
{
  const libNoGuard = unguarded(prep('library-shared'));
  const contractNoGuard = unguarded(prep('kv-shared'));
  const work: Array<[string, Partial<ExecuteInput>]> = [
    ['kv `main`, 2,000 lines', { input: INPUTS['2,000 lines']! }],
    ['`deep(1000)`: library recursion, 512 B frames', { entrypoint: 'deep', args: [1000] }],
  ];
  const rows: string[][] = [];
  for (const [label, extra] of work) {
    progress(`guard: ${label}`);
    const input = extra.input ?? new Uint8Array(0);
    const sides = [
      { name: 'two stacks, guarded', run: () => runOnce({ contract: kvShared, library: libShared, link: { mode: 'shared' } }, input, extra) },
      { name: 'two stacks, unguarded', run: () => runOnce({ contract: contractNoGuard, library: libNoGuard, link: { mode: 'shared' } }, input, extra) },
      { name: 'one stack (guarded at 0)', run: () => runOnce({ contract: kvShared, library: libShared, link: { mode: 'shared', stacks: 'one' } }, input, extra) },
    ];
    const res = measure(sides);
    const base = res.get('two stacks, unguarded')!;
    for (const [name, { r }] of res) {
      if (!r.ok || JSON.stringify(r.result) !== JSON.stringify(base.r.result) || r.fuel.consumed !== base.r.fuel.consumed) {
        throw new Error(`${name} disagrees on ${label}`);
      }
    }
    for (const [name, { ms }] of res) rows.push([label, name, f(base.r.fuel.consumed), f(ms, 3), `${f(ms / base.ms, 3)}×`]);
  }
  lines.push(table(['work', 'variant', 'fuel (equal on all)', 'ms per execution', 'vs unguarded'], rows), '');
}

const report = lines.join('\n');
process.stdout.write(`${report}\n`);
if (write) {
  const file = join(ROOT, 'docs/EXAMPLES.md');
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/EXAMPLES.md has no ${BEGIN} … ${END} section`);
  writeFileSync(file, `${doc.slice(0, a + BEGIN.length)}\n${report}\n${doc.slice(b)}`);
  progress('docs/EXAMPLES.md updated');
}
