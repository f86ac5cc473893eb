/**
 * The same real work (the Rust `kv` contract: a library map built from the input, encoded, hashed) in
 * the three ways to link: bridge (kv + library), shared (kv-shared + library-shared, one memory) and
 * standalone (kv-standalone, the library's code linked in). Same values, output and logs in all three;
 * and the stack guard against a real Rust recursion in the library.
 */
import t from 'tap';
import { example, exampleModule, hex, run, sha256 } from '../support/engine.js';
import { readModule } from '../../src/wasm/reader.js';
import { analyzeLayout } from '../../src/wasm/layout.js';

const bridge = { contract: exampleModule('kv'), library: exampleModule('library') };
const shared = { contract: exampleModule('kv-shared'), library: exampleModule('library-shared'), link: { mode: 'shared' as const } };
const one = { ...shared, link: { mode: 'shared' as const, stacks: 'one' as const } };
const standalone = { contract: exampleModule('kv-standalone') };
const MODES = { bridge, shared, one, standalone };

const INPUTS = ['b=2\na=1\nc=3\n', '', 'k=1\nk=2\r\nx\n\n=empty key\n', Array.from({ length: 2000 }, (_, i) => `key${(i * 7919) % 2000}=value ${i}`).join('\n')];

t.test('main: the same values, output and logs in every mode', async (t) => {
  for (const input of INPUTS) {
    const results = Object.entries(MODES).map(([name, m]) => [name, run({ ...m, input })] as const);
    const [, first] = results[0]!;
    t.ok(first.ok, JSON.stringify(first.error));
    for (const [name, r] of results) {
      t.ok(r.ok, `${name}: ${JSON.stringify(r.error)}`);
      t.same(r.result, first.result, `${name}: same result for a ${input.length}-byte input`);
      t.same(r.logs, first.logs, `${name}: same logs`);
    }
  }
  const r = run({ ...shared, input: INPUTS[0] });
  t.equal(hex(r.result!.output), '0c046104310462043204630433' + '2012960592cce51919247b62e02ea6753292e543c287c3d0348d4191501a6e92', 'the documented bytes');
  t.same(r.link, { mode: 'shared', calls: 0, bytesCopied: 0, stacks: 'two' });
  t.same(r.modules.library, { hash: sha256(example('library-shared')), bytes: example('library-shared').length });
});

t.test('lookup and add agree in every mode', async (t) => {
  for (const [name, m] of Object.entries(MODES)) {
    const l = run({ ...m, entrypoint: 'lookup', input: 'name\nname=alice\nage=30' });
    t.same(l.result, { values: [5], output: Buffer.from('alice').toString('base64') }, `${name}: lookup`);
    const a = run({ ...m, entrypoint: 'add', args: ['9007199254740993', '-2'] });
    t.same(a.result!.values, ['9007199254740991'], `${name}: add`);
  }
});

t.test('fuel is deterministic per mode, and a shared run copies nothing', async (t) => {
  for (const [name, m] of Object.entries(MODES)) {
    const a = run({ ...m, input: INPUTS[3] });
    const b = run({ ...m, input: INPUTS[3] });
    t.equal(a.fuel.consumed, b.fuel.consumed, `${name}: same fuel twice`);
  }
  const s = run({ ...shared, input: INPUTS[0] });
  const o = run({ ...one, input: INPUTS[0] });
  t.equal(o.fuel.consumed, s.fuel.consumed, 'one stack or two: the same operators run, the same fuel');
  const br = run({ ...bridge, input: INPUTS[0] });
  t.ok(br.link.bytesCopied > 0 && s.link.bytesCopied === 0);
});

t.test('many executions in shared mode reuse nothing and leak nothing', async (t) => {
  const first = run({ ...shared, input: INPUTS[3] });
  for (let i = 0; i < 20; i++) {
    const r = run({ ...shared, input: INPUTS[3] });
    t.equal(r.memory.peakBytes, first.memory.peakBytes);
  }
  t.equal(first.memory.modules.contract.peakBytes, 0, 'the contract owns no memory in shared mode');
  t.equal(first.memory.modules.library!.peakBytes, first.memory.peakBytes, 'the one memory is counted under the library');
});

t.test('the stack guard stops a real Rust recursion in the library before it reaches the contract data', async (t) => {
  const c = exampleModule('kv-shared');
  const cl = analyzeLayout(readModule(example('kv-shared')));
  const data = readModule(example('kv-shared')).data[0]!;
  const original = example('kv-shared').subarray(data.init.start, data.init.end);
  const region = cl.data[0]!;

  // recurse(n): 512 bytes of stack per level; 1000 levels fit the library's 1 MiB above the contract's data
  const fits = run({ ...shared, entrypoint: 'deep', args: [1000] });
  t.same(fits.result?.values, [1], 'deep(1000): the contract checks its own data afterwards: intact');

  let mem: WebAssembly.Memory | undefined;
  const r = run({ ...shared, entrypoint: 'deep', args: [3000], inspectMemory: (m) => (mem = m.library) });
  t.equal(r.error?.kind, 'stack_overflow');
  t.match(r.error!.message, /^library stack exhausted \(\d+ bytes from 0x200000 down to 0x1000[0-9a-f]+\): its stack pointer would have gone below 0x1000[0-9a-f]+, into the contract's data; stopped before writing there$/);
  const bytes = new Uint8Array(mem!.buffer, region.start, region.end - region.start);
  t.same(Buffer.from(bytes), Buffer.from(original), "every byte of the contract's data is as the module put it");
  const again = run({ ...shared, entrypoint: 'deep', args: [3000] });
  t.equal(again.fuel.consumed, r.fuel.consumed, 'deterministic fuel');

  // one stack: the recursion runs on the contract's 1 MiB stack; going below address 0 is stack_overflow
  const o = run({ ...one, entrypoint: 'deep', args: [1000] });
  t.same(o.result?.values, [1]);
  const deep = run({ ...one, entrypoint: 'deep', args: [3000] });
  t.equal(deep.error?.kind, 'stack_overflow');
  t.match(deep.error!.message, /the library took the shared stack \(the contract's\) to its end/);
  t.ok(c.info.layout.stackPointer, 'kv-shared follows the stack-pointer convention');
});

t.test('the bridge-built modules are refused in shared mode, and the other way round, saying which mode', async (t) => {
  const wrongShared = run.bind(null, { contract: exampleModule('kv'), library: exampleModule('library'), link: { mode: 'shared' } });
  t.throws(wrongShared, /the contract has its own memory.*link mode "bridge"/);
  t.throws(() => run({ contract: exampleModule('kv-shared'), library: exampleModule('library-shared') }), /env\.memory.*use link mode "shared"/);
  // the bridge library (stack 1 MiB, data at 1 MiB) collides with a shared-mode contract: data on data
  t.throws(() => run({ contract: exampleModule('kv-shared'), library: exampleModule('library'), link: { mode: 'shared' } }), /library data \[0x100000, 0x10063c\) overlaps contract data \[0x100000, 0x10004c\)/);
});
