/** `wasm-runner instrument`: a standalone metered module exporting `__fuel`. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { frameCost } from '../../src/wasm/frame-cost.js';
import { readModule } from '../../src/wasm/reader.js';
import { SUM_LOOP, TmpDir, cli, ensureBuilt } from './cli-support.js';
import { REC_BODY, wat } from '../support/wat.js';

ensureBuilt();
const tmp = new TmpDir();
t.teardown(() => tmp.remove());

const SRC = `(module
  (import "env" "f" (func $f (param i32)))
  (memory (export "memory") 1)
  ${SUM_LOOP}
  ;; entry 1 + local.get 1 + call 1 = 3
  (func (export "callf") (param i32) local.get 0 call $f)
  (func $rec (export "rec") (param i32) (result i32)
    ${REC_BODY}))`;

let input = '';
t.before(async () => {
  input = await tmp.wasm('in.wasm', SRC);
});

function load(path: string, calls: number[] = []) {
  const bytes = readFileSync(path);
  const module = new WebAssembly.Module(bytes);
  const instance = new WebAssembly.Instance(module, { env: { f: (x: number) => void calls.push(x) } });
  const e = instance.exports as Record<string, any>;
  return { module, e, fuel: e.__fuel as WebAssembly.Global };
}

t.test('writes a valid module with the original imports and exports plus __fuel, __meter_flags and __meter_reset', async (t) => {
  const out = join(tmp.path, 'out.wasm');
  const r = cli('instrument', input, '-o', out, '--fuel', '1000');
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(r.stdout, '');
  const inBytes = readFileSync(input).length;
  const outBytes = readFileSync(out).length;
  t.match(r.stderr, `(${inBytes} bytes)`);
  t.match(r.stderr, `(${outBytes} bytes)`);
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  t.ok(WebAssembly.validate(readFileSync(out)), 'validates');

  const original = new WebAssembly.Module(readFileSync(input));
  const { module, e, fuel } = load(out);
  t.same(WebAssembly.Module.imports(module), WebAssembly.Module.imports(original));
  t.same(WebAssembly.Module.exports(module), [
    ...WebAssembly.Module.exports(original),
    { name: '__fuel', kind: 'global' },
    { name: '__meter_flags', kind: 'global' },
    { name: '__meter_reset', kind: 'function' },
  ]);
  t.ok(fuel instanceof WebAssembly.Global);
  t.equal(fuel.value, 1000n, '__fuel = N initially');
  fuel.value = 500n;
  t.equal(fuel.value, 500n, 'mutable');
  t.ok(e.memory instanceof WebAssembly.Memory);
});

t.test('a call costs exactly its fuel; running out traps', async (t) => {
  const out = join(tmp.path, 'metered.wasm');
  t.equal(cli('instrument', input, '-o', out, '--fuel', '1000').code, 0);
  const calls: number[] = [];
  const { e, fuel } = load(out, calls);
  t.equal(e.sum(10), 45);
  t.equal(fuel.value, 1000n - 136n, 'sum(10) costs 13·10+6');
  t.equal(e.sum(3), 3);
  t.equal(fuel.value, 1000n - 136n - 45n, 'sum(3) costs 13·3+6');
  e.callf(7);
  t.same(calls, [7], 'the original import is called');
  t.equal(fuel.value, 1000n - 136n - 45n - 3n);
  const before = fuel.value as bigint;
  t.throws(() => e.sum(100), WebAssembly.RuntimeError, 'sum(100) needs 1306: traps');
  t.ok((fuel.value as bigint) < before, 'fuel was spent before the trap');

  // the same call with enough fuel completes
  const rich = load(out);
  rich.fuel.value = 1306n;
  t.equal(rich.e.sum(100), 4950);
  t.equal(rich.fuel.value, 0n);
});

t.test('default fuel and the stack budget', async (t) => {
  const out = join(tmp.path, 'default.wasm');
  const r = cli('instrument', input, '--output', out);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const { e, fuel } = load(out);
  t.equal(fuel.value, BigInt(DEFAULT_LIMITS.fuel));
  t.equal(e.rec(1000), 1000);
  // rec(n) is n + 1 frames of rec: exactly what the default budget holds, and one more
  const m = readModule(await wat(SRC));
  const recIndex = m.exports.find((x) => x.name === 'rec')!.index - 1; // one imported function
  const frames = Math.floor(DEFAULT_ENGINE_CONFIG.maxStackBytes / frameCost(m, recIndex));
  t.equal(e.rec(frames - 1), frames - 1, `${frames} frames fit`);
  // well within V8's stack (real frames are about half the charge), but beyond the budget: a wasm trap
  t.throws(() => e.rec(frames), WebAssembly.RuntimeError);
});

t.test('invalid input and bad arguments: error body, exit 2, nothing written', async (t) => {
  const out = join(tmp.path, 'never.wasm');
  const junk = cli('instrument', tmp.file('junk.wasm', 'hello'), '-o', out);
  t.equal(junk.code, 2);
  t.equal(junk.json().error.kind, 'invalid_module');
  t.notOk(existsSync(out));
  const invalid = cli('instrument', tmp.file('bad.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0x0a, 1, 1])), '-o', out);
  t.equal(invalid.code, 2);
  t.equal(invalid.json().error.kind, 'invalid_module');
  t.notOk(existsSync(out));
  const noOut = cli('instrument', input);
  t.equal(noOut.code, 2);
  t.same(noOut.json(), { error: { kind: 'bad_request', message: '`instrument` needs -o OUT.wasm' } });
  const badFuel = cli('instrument', input, '-o', out, '--fuel', 'lots');
  t.equal(badFuel.code, 2);
  t.match(badFuel.json().error.message, /--fuel must be a non-negative integer/);
  const missing = cli('instrument', 'missing.wasm', '-o', out);
  t.equal(missing.code, 2);
  t.match(missing.json().error.message, /cannot read IN `missing\.wasm`/);
});
