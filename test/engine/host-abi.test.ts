/**
 * Host ABI v1 (docs/ABI.md) through whole executions: input_len/input_read, output appended across
 * calls, log levels and UTF-8, the per-byte fuel charge, the library's use of the same host, and
 * the ABI from a start function. Out-of-bounds pointers are in outcomes.test.ts.
 */
import t from 'tap';
import { assertBodyShape, hex, run, text, watModule, watString } from '../support/engine.js';

const HOST = `
  (import "host" "input_len" (func $input_len (result i32)))
  (import "host" "input_read" (func $input_read (param i32)))
  (import "host" "output" (func $output (param i32 i32)))
  (import "host" "log" (func $log (param i32 i32 i32)))
  (import "host" "panic" (func $panic (param i32 i32)))`;

/** Reads the input at `dst` and outputs it; returns input_len. */
const ECHO = `(module ${HOST} (memory (export "memory") 1)
  (func (export "main") (param $dst i32) (result i32)
    (call $input_read (local.get $dst))
    (call $output (local.get $dst) (call $input_len))
    (call $input_len)))`;

t.test('input_len / input_read: empty and non-empty input', async (t) => {
  const c = await watModule(ECHO);
  const empty = run({ contract: c, args: [0] });
  assertBodyShape(t, empty, { library: false });
  t.same(empty.result, { values: [0], output: '' });
  const bytes = new Uint8Array([0, 1, 2, 255, 128, 10]);
  const some = run({ contract: c, args: [100], input: bytes });
  t.same(some.result!.values, [6]);
  t.equal(hex(some.result!.output), '000102ff800a');
  t.equal(text(run({ contract: c, args: [0], input: 'héllo' }).result!.output), 'héllo');
  // the read lands exactly at dst: the last bytes of memory
  t.equal(hex(run({ contract: c, args: [65536 - 6], input: bytes }).result!.output), '000102ff800a');
  // an empty read at the very end of memory is in bounds, one past it is not
  t.equal(run({ contract: c, args: [65536] }).ok, true);
  const past = run({ contract: c, args: [65537] });
  t.equal(past.error!.kind, 'trap');
  t.match(past.error!.message, /^out of bounds memory access: host\.input_read given 65537\.\.65537/);
});

t.test('input_read does not touch memory outside [dst, dst+len)', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "XXXXXXXX")
    (func (export "main") (call $input_read (i32.const 2)) (call $output (i32.const 0) (i32.const 8))))`);
  t.equal(text(run({ contract: c, input: 'abc' }).result!.output), 'XXabcXXX');
});

t.test('host copies cost 1 fuel per byte', async (t) => {
  const c = await watModule(ECHO);
  const base = run({ contract: c, args: [0] }).fuel.consumed;
  // input_read copies n, output copies n
  for (const n of [1, 10, 1000]) {
    t.equal(run({ contract: c, args: [0], input: new Uint8Array(n) }).fuel.consumed - base, 2 * n, `${n} bytes`);
  }
  const logs = await watModule(`(module ${HOST} (memory (export "memory") 1)
    (func (export "main") (param i32) (call $log (i32.const 2) (i32.const 0) (local.get 0))))`);
  t.equal(run({ contract: logs, args: [300] }).fuel.consumed - run({ contract: logs, args: [0] }).fuel.consumed, 300);
});

t.test('output is appended across several calls', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "abcdef")
    (func (export "main")
      (call $output (i32.const 0) (i32.const 2))
      (call $output (i32.const 0) (i32.const 0))
      (call $output (i32.const 2) (i32.const 2))
      (i32.store8 (i32.const 4) (i32.const 0x45))
      (call $output (i32.const 4) (i32.const 2))
      (call $output (i32.const 0) (i32.const 1))))`);
  const r = run({ contract: c });
  t.equal(text(r.result!.output), 'abcdEfa', 'each call copies the bytes as they were then');
});

t.test('output is copied at call time (later writes do not change it)', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "old")
    (func (export "main") (call $output (i32.const 0) (i32.const 3)) (i32.store8 (i32.const 0) (i32.const 0x4e))))`);
  t.equal(text(run({ contract: c }).result!.output), 'old');
});

t.test('log levels 0..4 and their names; an invalid level is a trap', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "msg")
    (func (export "main") (param i32) (call $log (local.get 0) (i32.const 0) (i32.const 3))))`);
  const names = ['trace', 'debug', 'info', 'warn', 'error'];
  for (let level = 0; level < 5; level++) {
    t.same(run({ contract: c, args: [level] }).logs, [{ level: names[level], message: 'msg' }]);
  }
  for (const level of [5, -1, 100]) {
    const r = run({ contract: c, args: [level] });
    assertBodyShape(t, r, { library: false });
    t.has(r.error, { kind: 'trap', message: `host.log: level ${level} is not 0..4 (trace, debug, info, warn, error)` });
  }
});

t.test('logs keep their order across contract and library, on success and failure', async (t) => {
  const library = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "from lib")
    (func (export "f") (call $log (i32.const 1) (i32.const 0) (i32.const 8))))`);
  const contract = await watModule(`(module ${HOST} (import "lib" "f" (func $f)) (memory (export "memory") 1) (data (i32.const 0) "before after")
    (func (export "main") (param i32)
      (call $log (i32.const 2) (i32.const 0) (i32.const 6))
      call $f
      (call $log (i32.const 3) (i32.const 7) (i32.const 5))
      (if (local.get 0) (then unreachable))))`);
  const expected = [
    { level: 'info', message: 'before' },
    { level: 'debug', message: 'from lib' },
    { level: 'warn', message: 'after' },
  ];
  t.same(run({ contract, library, args: [0] }).logs, expected);
  const failed = run({ contract, library, args: [1] });
  t.equal(failed.error!.kind, 'trap');
  t.same(failed.logs, expected, 'logs survive a trap');
});

t.test('the library reads the same input and writes the same output', async (t) => {
  const library = await watModule(`(module ${HOST} (memory (export "memory") 1)
    (func (export "f") (call $input_read (i32.const 0)) (call $output (i32.const 0) (call $input_len))))`);
  const contract = await watModule(`(module ${HOST} (import "lib" "f" (func $f)) (memory (export "memory") 1)
    (func (export "main") (call $input_read (i32.const 0)) (call $output (i32.const 0) (i32.const 1)) call $f))`);
  t.equal(text(run({ contract, library, input: 'xyz' }).result!.output), 'xxyz');
});

t.test('UTF-8 decoding of log and panic messages', async (t) => {
  const msgs = ['héllo ✓', '日本語', '🎉 emoji', ''];
  for (const m of msgs) {
    const n = new TextEncoder().encode(m).length;
    const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) ${watString(m)})
      (func (export "main") (param i32) (if (local.get 0) (then (call $panic (i32.const 0) (i32.const ${n}))))
        (call $log (i32.const 2) (i32.const 0) (i32.const ${n}))))`);
    t.same(run({ contract: c, args: [0] }).logs, [{ level: 'info', message: m }], `log ${JSON.stringify(m)}`);
    t.has(run({ contract: c, args: [1] }).error, { kind: 'panic', message: m }, `panic ${JSON.stringify(m)}`);
  }
  // invalid UTF-8 is replaced, not an error
  const bad = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "a\\ff\\c3b")
    (func (export "main") (call $log (i32.const 2) (i32.const 0) (i32.const 4))))`);
  t.same(run({ contract: bad }).logs, [{ level: 'info', message: 'a\uFFFD\uFFFDb' }]);
  // output is bytes, not text: passed through as base64
  const out = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "a\\ff\\c3b")
    (func (export "main") (call $output (i32.const 0) (i32.const 4))))`);
  t.equal(hex(run({ contract: out }).result!.output), '61ffc362');
});

t.test('panic ends the execution at once', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "stop")
    (func (export "main") (result i32)
      (call $output (i32.const 0) (i32.const 4))
      (call $log (i32.const 2) (i32.const 0) (i32.const 4))
      (call $panic (i32.const 0) (i32.const 4))
      (call $log (i32.const 2) (i32.const 0) (i32.const 4))
      i32.const 1))`);
  const r = run({ contract: c });
  t.has(r.error, { kind: 'panic', message: 'stop' });
  t.equal(r.result, null, 'no result (and so no output) on a panic');
  t.same(r.logs, [{ level: 'info', message: 'stop' }], 'logs before the panic are kept, none after');
});

t.test('host imports may be re-exported and used as the entrypoint', async (t) => {
  const c = await watModule(`(module (import "host" "input_len" (func $len (result i32))) (export "main" (func $len)))`);
  t.same(run({ contract: c, input: 'four' }).result!.values, [4]);
});

t.test('the host ABI from a start function', async (t) => {
  const c = await watModule(`(module ${HOST} (memory (export "memory") 1) (data (i32.const 0) "started")
    (func $s (call $log (i32.const 2) (i32.const 0) (i32.const 7))) (start $s)
    (func (export "main") (result i32) (call $input_len)))`);
  const r = run({ contract: c, input: 'ab' });
  t.equal(r.error, null, 'the start function may log');
  t.same(r.logs, [{ level: 'info', message: 'started' }], 'and its line is kept');
  // input_len needs no memory: fine from a start function
  const len = await watModule(`(module ${HOST} (global $g (mut i32) (i32.const -1))
    (func $s (global.set $g (call $input_len))) (start $s)
    (func (export "main") (result i32) (global.get $g)))`);
  t.same(run({ contract: len, input: 'abc' }).result!.values, [3]);
});
