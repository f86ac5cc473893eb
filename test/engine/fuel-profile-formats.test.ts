/**
 * src/engine/fuel-profile/{speedscope,collapsed,pprof}.ts: a small profile built by hand (recursion, a
 * host import, a library frame, a label with `;` and a newline, a frame no sample uses, a fuel value
 * over 2^32) in each format: the stacks and fuel exactly, the sum the total, the same bytes each time.
 * The speedscope file is checked against the JSON schema the speedscope package ships; the pprof bytes
 * are decoded back by pprof-format. (No go / flamegraph.pl / inferno here to use as oracles.)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import AjvModule from 'ajv';
import { Profile } from 'pprof-format';
import t from 'tap';
import { toCollapsed } from '../../src/engine/fuel-profile/collapsed.js';
import { pprofGzip, toPprof } from '../../src/engine/fuel-profile/pprof.js';
import { toSpeedscope } from '../../src/engine/fuel-profile/speedscope.js';
import type { ProfileData, ProfileFrame } from '../../src/engine/fuel-profile/types.js';

type Name = string | null;
const wasm = (module: 'contract' | 'library', index: number, name: Name, label: string): ProfileFrame => ({ kind: 'wasm', module, index, name, label });
const host = (name: Name, label: string): ProfileFrame => ({ kind: 'host', module: null, index: null, name, label });

const BIG = 2 ** 33 + 5; // a varint over 32 bits
const frames: ProfileFrame[] = [
  wasm('contract', 3, 'main', 'contract:main'), // 0
  wasm('contract', 4, 'a', 'contract:a'), // 1
  host(null, '(other)'), // 2: in no sample
  wasm('library', 12, null, 'library:12'), // 3
  host('env.log', 'host.log'), // 4
  wasm('contract', 7, 'x;y\nz', 'contract:x;y\nz'), // 5
];
// node: 0 root, 1 main, 2 main→a, 3 main→a→b, 4 main→host.log, 5 main→a→a (no own fuel), 6 main→a→a→b, 7 main→a→a→x
const tree = { frame: [-1, 0, 1, 3, 4, 1, 3, 5], parent: [-1, 0, 1, 2, 1, 2, 5, 5], self: [0, 10, 20, BIG, 5, 0, 3, 7] };
const data: ProfileData = { total: 10 + 20 + BIG + 5 + 3 + 7, frames, tree };
const empty: ProfileData = { total: 0, frames: [], tree: { frame: [-1], parent: [-1], self: [0] } };
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

const require = createRequire(import.meta.url);
const schema = JSON.parse(readFileSync(require.resolve('speedscope/dist/release/file-format-schema.json'), 'utf8'));
const Ajv = ((AjvModule as any).default ?? AjvModule) as typeof AjvModule.default;
const validSpeedscope = new Ajv({ strict: false, allErrors: true }).compile(schema);

t.test('speedscope: frames used, stacks root first, weights the fuel', async (t) => {
  const file = toSpeedscope(data, 'fuel: kv get');
  t.ok(validSpeedscope(file), `valid by speedscope's schema ${JSON.stringify(validSpeedscope.errors)}`);
  t.match(file, { $schema: 'https://www.speedscope.app/file-format-schema.json', exporter: 'wasm-contract-runner' });
  t.same(file.shared.frames, [
    { name: 'contract:main', file: 'contract' },
    { name: 'contract:a', file: 'contract' },
    { name: 'library:12', file: 'library' },
    { name: 'host.log' },
    { name: 'contract:x;y\nz', file: 'contract' },
  ]);
  t.equal(file.profiles.length, 1);
  const p = file.profiles[0];
  t.match(p, { type: 'sampled', name: 'fuel: kv get', unit: 'none', startValue: 0, endValue: data.total });
  t.same(p.samples, [[0], [0, 1], [0, 1, 2], [0, 3], [0, 1, 1, 2], [0, 1, 1, 4]]);
  t.same(p.weights, [10, 20, BIG, 5, 3, 7]);
  t.equal(sum(p.weights), data.total, 'the weights sum to the total');
  t.equal(JSON.stringify(toSpeedscope(data, 'fuel: kv get')), JSON.stringify(file), 'the same file each time');

  const e = toSpeedscope(empty, 'fuel');
  t.ok(validSpeedscope(e), 'empty: valid');
  t.same(e.shared.frames, []);
  t.match(e.profiles[0], { startValue: 0, endValue: 0, samples: [], weights: [] });
});

t.test('collapsed: one line per node with own fuel, labels made safe', async (t) => {
  const text = toCollapsed(data);
  t.equal(
    text,
    [
      'contract:main 10',
      'contract:main;contract:a 20',
      `contract:main;contract:a;library:12 ${BIG}`,
      'contract:main;host.log 5',
      'contract:main;contract:a;contract:a;library:12 3',
      'contract:main;contract:a;contract:a;contract:x,y z 7',
      '',
    ].join('\n'),
  );
  t.equal(sum(text.trimEnd().split('\n').map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))), data.total, 'sums to the total');
  t.equal(toCollapsed(data), text, 'the same text each time');
  const odd = toCollapsed({ ...data, frames: frames.map((f) => ({ ...f, label: `a\r\tb\u0000c\u2028d\u0085e;f` })) });
  t.equal(odd.split('\n')[0], 'a  b c d e,f 10', 'control characters and separators become spaces');
  t.equal(toCollapsed(empty), '', 'empty profile: no lines');
});

/** A decoded pprof sample as root-first labels and its value. */
function decodePprof(bytes: Uint8Array) {
  const p = Profile.decode(bytes);
  const str = (i: unknown) => p.stringTable.strings[Number(i)];
  const fn = new Map(p.function.map((f) => [Number(f.id), f]));
  const loc = new Map(p.location.map((l) => [Number(l.id), l]));
  const stacks = p.sample.map((s) => ({
    stack: s.locationId.map((id) => str(fn.get(Number(loc.get(Number(id))!.line[0].functionId))!.name)).reverse(),
    value: s.value.map(Number),
  }));
  return { p, str, stacks };
}

t.test('pprof: decoded back, the same stacks and fuel', async (t) => {
  const bytes = toPprof(data);
  const { p, str, stacks } = decodePprof(bytes);
  t.same(p.sampleType.map((v) => [str(v.type), str(v.unit)]), [['fuel', 'count']]);
  t.same([str(p.periodType!.type), str(p.periodType!.unit), Number(p.period)], ['fuel', 'count', 1]);
  t.same([Number(p.timeNanos), Number(p.durationNanos)], [0, 0], 'no timestamps');
  t.same(
    p.function.map((f) => [Number(f.id), str(f.name), str(f.systemName), str(f.filename)]),
    [
      [1, 'contract:main', 'main', 'contract'],
      [2, 'contract:a', 'a', 'contract'],
      [3, '(other)', '(other)', 'host'],
      [4, 'library:12', 'library:12', 'library'],
      [5, 'host.log', 'env.log', 'host'],
      [6, 'contract:x;y\nz', 'x;y\nz', 'contract'],
    ],
  );
  t.same(p.location.map((l) => [Number(l.id), l.line.map((x) => Number(x.functionId))]), frames.map((_, i) => [i + 1, [i + 1]]));
  t.same(stacks, [
    { stack: ['contract:main'], value: [10] },
    { stack: ['contract:main', 'contract:a'], value: [20] },
    { stack: ['contract:main', 'contract:a', 'library:12'], value: [BIG] },
    { stack: ['contract:main', 'host.log'], value: [5] },
    { stack: ['contract:main', 'contract:a', 'contract:a', 'library:12'], value: [3] },
    { stack: ['contract:main', 'contract:a', 'contract:a', 'contract:x;y\nz'], value: [7] },
  ]);
  t.same(p.sample[2].locationId.map(Number), [4, 2, 1], 'leaf first');
  // encoded by hand too (pprof-format's encoder and decoder could agree on a wrong varint): the third
  // sample, field 2 of 12 bytes: location ids [4, 2, 1] packed, then the value 2^33 + 5 in 5 bytes
  t.ok(Buffer.from(bytes).toString('hex').includes('120c' + '0a03040201' + '12058580808020'), 'a value over 32 bits');
  t.equal(sum(stacks.map((s) => s.value[0])), data.total, 'sums to the total');

  t.same(toPprof(data), bytes, 'the same bytes each time');
  // a change here changes the answers' bytes (pprof-format upgraded, or the encoding above changed)
  t.equal(createHash('sha256').update(bytes).digest('hex'), 'd069a21a1cc94d6c75412f91f2a416df77f473680e5e95f532c1d16f2d25c852');
  t.same(new Uint8Array(gunzipSync(pprofGzip(bytes))), bytes, 'gzip: the same profile');

  const e = decodePprof(toPprof(empty));
  t.same(e.stacks, [], 'empty profile: no samples');
  t.same(e.p.sampleType.map((v) => [e.str(v.type), e.str(v.unit)]), [['fuel', 'count']], 'empty profile: still fuel');
  t.same([e.p.function.length, e.p.location.length], [0, 0]);
});

t.test('fuel charged to the root (no frame) is kept: an empty stack, or (root) where there is none', async (t) => {
  const rooted: ProfileData = { ...data, total: data.total + 4, tree: { ...data.tree, self: [4, ...data.tree.self.slice(1)] } };
  const p = toSpeedscope(rooted, 'fuel').profiles[0];
  t.same([p.samples[0], p.weights[0], sum(p.weights)], [[], 4, rooted.total]);
  t.equal(toCollapsed(rooted).split('\n')[0], '(root) 4');
  const { stacks } = decodePprof(toPprof(rooted));
  t.same(stacks[0], { stack: [], value: [4] });
  t.equal(sum(stacks.map((s) => s.value[0])), rooted.total);
});
