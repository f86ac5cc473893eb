/**
 * The Rust-built modules of examples/wasm run through the engine with exactly the results that
 * examples/README.md documents, the linked ones (kv, hello-lib + library) with their bridge traffic.
 */
import t from 'tap';
import { assertBodyShape, example, exampleModule, hex, PAGE, run, sha256, text } from '../support/engine.js';

const library = exampleModule('library');
const kv = exampleModule('kv');

t.test('module sizes and hashes are reported as given', async (t) => {
  const r = run({ contract: kv, library, input: '' });
  t.same(r.modules, {
    contract: { hash: sha256(example('kv')), bytes: 5668 },
    library: { hash: sha256(example('library')), bytes: 19550 },
  });
  t.same(r.memory.modules, {
    contract: { initialBytes: 17 * PAGE, peakBytes: 17 * PAGE },
    library: { initialBytes: 17 * PAGE, peakBytes: 17 * PAGE },
  });
});

t.test('hello', async (t) => {
  const hello = exampleModule('hello');
  const r = run({ contract: hello, input: 'world' });
  assertBodyShape(t, r, { library: false });
  t.same(r.result!.values, [5]);
  t.equal(hex(r.result!.output), '68656c6c6f2c20776f726c64');
  t.same(r.logs, [{ level: 'info', message: 'hello called' }]);
  t.same(r.link, { mode: 'bridge', calls: 0, bytesCopied: 0 });
  const empty = run({ contract: hello });
  t.same(empty.result, { values: [0], output: Buffer.from('hello, ').toString('base64') });
});

t.test('kv: the worked example', async (t) => {
  const r = run({ contract: kv, library, input: 'b=2\na=1\nc=3\n' });
  assertBodyShape(t, r, { library: true });
  t.same(r.result!.values, [3]);
  t.same(r.logs, [{ level: 'info', message: 'kv: 3 entries' }]);
  t.equal(hex(r.result!.output), '0c046104310462043204630433' + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92');
  t.same(r.link, { mode: 'bridge', calls: 5, bytesCopied: 64 });
  t.equal(r.error, null);
});

t.test('kv: empty input', async (t) => {
  const r = run({ contract: kv, library, input: '' });
  t.same(r.result!.values, [0]);
  t.equal(hex(r.result!.output), '00' + '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  t.same(r.logs, [{ level: 'info', message: 'kv: 0 entries' }]);
  // map_encode (1 byte back), sha256 (1 in, 32 back); no inserts
  t.same(r.link, { mode: 'bridge', calls: 2, bytesCopied: 34 });
});

t.test('kv: lookup and add', async (t) => {
  const l = run({ contract: kv, library, entrypoint: 'lookup', input: 'name\nname=alice\nage=30' });
  t.same(l.result!.values, [5]);
  t.equal(text(l.result!.output), 'alice');
  const absent = run({ contract: kv, library, entrypoint: 'lookup', input: 'nope\nname=alice' });
  t.same(absent.result, { values: [0], output: '' });
  const add = run({ contract: kv, library, entrypoint: 'add', args: ['40', '2'] });
  t.same(add.result!.values, ['42']);
  t.same(add.link, { mode: 'bridge', calls: 0, bytesCopied: 0 }, 'add_i64 is wired directly');
  t.same(run({ contract: kv, library, entrypoint: 'add', args: ['9223372036854775807', '1'] }).result!.values, ['-9223372036854775808']);
});

/** SCALE compact integer (examples/README.md). */
function compact(x: number): number[] {
  if (x < 2 ** 6) return [x << 2];
  if (x < 2 ** 14) return [((x << 2) | 1) & 0xff, x >> 6];
  if (x < 2 ** 30) {
    const v = x * 4 + 2;
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  }
  return [3, x & 0xff, (x >>> 8) & 0xff, (x >>> 16) & 0xff, (x >>> 24) & 0xff];
}

t.test('compact encoder matches the README examples', async (t) => {
  t.same(compact(3), [0x0c]);
  t.same(compact(70), [0x19, 0x01]);
  t.same(compact(16384), [0x02, 0x00, 0x01, 0x00]);
  t.same(compact(2 ** 30), [0x03, 0x00, 0x00, 0x00, 0x40]);
});

t.test('kv: pseudo-random lines against an independent encoder', async (t) => {
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const word = (n: number) => Array.from({ length: n }, () => 'abcdefghij'[rand(10)]).join('');
  const lines: string[] = [];
  for (let i = 0; i < 120; i++) {
    const k = word(1 + rand(3));
    lines.push(rand(10) === 0 ? k : `${k}=${word(rand(90))}`);
  }
  const input = lines.join('\r\n') + '\n\n';
  const map = new Map<string, string>();
  for (const raw of input.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line) continue;
    const eq = line.indexOf('=');
    map.set(eq < 0 ? line : line.slice(0, eq), eq < 0 ? '' : line.slice(eq + 1));
  }
  const keys = [...map.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const enc: number[] = [...compact(keys.length)];
  for (const k of keys) enc.push(...compact(k.length), ...Buffer.from(k), ...compact(map.get(k)!.length), ...Buffer.from(map.get(k)!));
  const encoding = Buffer.from(enc);

  const r = run({ contract: kv, library, input });
  t.same(r.result!.values, [keys.length]);
  t.equal(hex(r.result!.output), encoding.toString('hex') + sha256(encoding));
  t.same(r.logs, [{ level: 'info', message: `kv: ${keys.length} entries` }]);
  let insertBytes = 0;
  for (const raw of input.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line) insertBytes += line.includes('=') ? line.length - 1 : line.length;
  }
  const inserts = lines.length;
  t.same(r.link, { mode: 'bridge', calls: inserts + 2, bytesCopied: insertBytes + 2 * encoding.length + 32 });
});

t.test('hello-lib', async (t) => {
  const r = run({ contract: exampleModule('hello-lib'), library, input: 'hi!' });
  assertBodyShape(t, r, { library: true });
  t.same(r.result!.values, [3]);
  t.equal(text(r.result!.output), '686921');
  t.same(r.link, { mode: 'bridge', calls: 1, bytesCopied: 9 });
  const bin = new Uint8Array([0, 255, 16]);
  t.equal(text(run({ contract: exampleModule('hello-lib'), library, input: bin }).result!.output), '00ff10');
});

t.test('compute', async (t) => {
  const c = exampleModule('compute');
  const v = (entrypoint: string, n: number) => run({ contract: c, entrypoint, args: [n] }).result!.values[0];
  t.equal(v('sha_loop', 0), 50462976);
  t.equal(v('sha_loop', 1), -1397101827);
  t.equal(v('sha_loop', 1000), 1388011755);
  t.equal(v('sort', 0), 0);
  t.equal(v('sort', 1), 723471715);
  t.equal(v('sort', 10), -1600791227);
  t.equal(v('sort', 1000), 1711063396);
});

t.test('fib', async (t) => {
  const fib = exampleModule('fib');
  const v = (n: number) => run({ contract: fib, entrypoint: 'fib', args: [n] }).result!.values[0];
  t.equal(v(10), '55');
  t.equal(v(20), '6765');
  t.equal(v(-3), '-3');
  t.same(run({ contract: fib, entrypoint: 'depth', args: [100] }).result!.values, [100]);
  t.same(run({ contract: fib, entrypoint: 'depth', args: [-5] }).result!.values, [0]);
  // out of fuel on a long run
  const r = run({ contract: fib, entrypoint: 'fib', args: [30], limits: { fuel: 100_000 } });
  t.equal(r.error!.kind, 'out_of_fuel');
  t.same(r.fuel, { limit: 100_000, consumed: 100_000, remaining: 0 });
});

t.test('panic', async (t) => {
  const r = run({ contract: exampleModule('panic'), input: 'alice' });
  t.has(r.error, { kind: 'panic', message: 'contract refused: alice' });
  t.equal(r.result, null);
});

t.test('oom: memory_limit with the memory exactly at the cap', async (t) => {
  for (const pages of [18, 32]) {
    const r = run({ contract: exampleModule('oom'), limits: { memoryBytes: pages * PAGE } });
    assertBodyShape(t, r, { library: false });
    t.equal(r.error!.kind, 'memory_limit');
    t.same(r.memory, { limitBytes: pages * PAGE, peakBytes: pages * PAGE, modules: { contract: { initialBytes: 17 * PAGE, peakBytes: pages * PAGE } } });
  }
  t.equal(run({ contract: exampleModule('oom'), limits: { memoryBytes: 16 * PAGE } }).error!.message.startsWith('initial memory of 1114112 bytes'), true);
});

t.test('kv: out of fuel at every point of a linked run', async (t) => {
  const need = run({ contract: kv, library, input: 'a=1' }).fuel.consumed;
  // wherever the fuel ends (contract, library, a host copy), the outcome is the same kind
  for (let fuel = 1; fuel < need; fuel += 97) {
    const r = run({ contract: kv, library, input: 'a=1', limits: { fuel } });
    if (r.error?.kind !== 'out_of_fuel' || r.fuel.consumed !== fuel) {
      t.fail(`fuel ${fuel}: ${JSON.stringify(r.error)} consumed ${r.fuel.consumed}`);
      return;
    }
  }
  t.pass(`out_of_fuel with consumed == limit for every 97th limit below ${need}`);
});
