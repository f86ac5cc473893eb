/**
 * Errors that are not outcomes (docs/API.md, Errors: 400/422): every link_error of check()/execute(),
 * bad_request for the entrypoint and its arguments, invalid_module and policy_violation from prepare.
 * Each one names what a contract author has to fix.
 */
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY } from '../../src/engine/defaults.js';
import { RequestError } from '../../src/engine/errors.js';
import { check } from '../../src/engine/execute.js';
import { prepare } from '../../src/engine/prepare.js';
import { type Assert, exampleModule, expectRequestError, input, prep, run, wat, watModule, withCustomSection, type RunOptions } from '../support/engine.js';

const checkOf = (o: RunOptions) => () => check(input(o));
/** Both check() and execute() refuse it the same way (execute runs nothing). */
function refused(t: Assert, o: RunOptions, kind: RequestError['kind'], ...patterns: Array<RegExp | string>) {
  const a = expectRequestError(t, checkOf(o), kind, ...patterns);
  const b = expectRequestError(t, () => run(o), kind);
  t.equal(b?.message, a?.message, 'execute throws what check throws');
}

const ADD_LIB = `(module (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))`;

t.test('link_error: the contract imports from the library but none was given', async (t) => {
  const c = await watModule(`(module (import "lib" "add" (func (param i32 i32) (result i32))) (func (export "main")))`);
  refused(t, { contract: c }, 'link_error', 'the contract imports `lib.add` but no library was given');
});

t.test('link_error: the library lacks the export', async (t) => {
  const c = await watModule(`(module (import "lib" "mul" (func (param i32 i32) (result i32))) (func (export "main")))`);
  refused(t, { contract: c, library: await watModule(ADD_LIB) }, 'link_error', 'the contract imports `lib.mul`, but the library exports no function `mul`');
  // an export of the right name that is not a function
  const lib = await watModule(`(module (memory (export "mul") 1))`);
  refused(t, { contract: c, library: lib }, 'link_error', 'the library exports no function `mul`');
});

t.test('link_error: contract and library signatures differ (no declaration)', async (t) => {
  const c = await watModule(`(module (import "lib" "add" (func (param i64 i64) (result i64))) (func (export "main")))`);
  refused(
    t,
    { contract: c, library: await watModule(ADD_LIB) },
    'link_error',
    'signature mismatch for `lib.add`: the contract imports (i64, i64) -> (i64), the library exports (i32, i32) -> (i32)',
  );
});

const BYTES_LIB = `(module (memory (export "memory") 1)
  (func (export "alloc") (param i32 i32) (result i32) i32.const 8)
  (func (export "dealloc") (param i32 i32 i32))
  (func (export "len") (param i32 i32) (result i32) local.get 1)
  (func (export "copy") (param i32 i32) (result i64) i64.const 0))`;
const BYTES_CONTRACT = `(module (import "lib" "len" (func (param i32 i32) (result i32))) (memory (export "memory") 1) (func (export "main")))`;

t.test('link_error: contract import vs declaration', async (t) => {
  const lib = await watModule(BYTES_LIB, 'len(bytes) -> i32\n');
  const c = await watModule(`(module (import "lib" "len" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "main")))`);
  refused(
    t,
    { contract: c, library: lib },
    'link_error',
    'signature mismatch for `lib.len`: the contract imports (i32) -> (i32), but the ffi declaration `len(bytes) -> i32` lowers to (i32, i32) -> (i32)',
  );
});

t.test('link_error: library export vs declaration', async (t) => {
  const lib = await watModule(BYTES_LIB, 'len(bytes) -> i64\n');
  const c = await watModule(`(module (import "lib" "len" (func (param i32 i32) (result i64))) (memory (export "memory") 1) (func (export "main")))`);
  refused(
    t,
    { contract: c, library: lib },
    'link_error',
    'signature mismatch for `lib.len`: the library exports (i32, i32) -> (i32), but the ffi declaration `len(bytes) -> i64` lowers to (i32, i32) -> (i64)',
  );
  // the same through a request-supplied declaration
  const bare = await watModule(BYTES_LIB);
  refused(t, { contract: c, library: bare, link: { ffi: 'len(bytes) -> i64' } }, 'link_error', 'the library exports (i32, i32) -> (i32)');
});

t.test('link_error: bad ffi syntax, in the section or the request', async (t) => {
  const c = await watModule(BYTES_CONTRACT);
  const cases: Array<[string, RegExp]> = [
    ['len(string) -> i32', /^bad ffi declaration: ffi line 1 `len\(string\) -> i32`: unknown type `string`/],
    ['# ok\nlen(bytes) -> str', /^bad ffi declaration: ffi line 2 `len\(bytes\) -> str`: unknown type `str`/],
    ['this is not a declaration', /^bad ffi declaration: ffi line 1 `this is not a declaration`: expected `name\(type, \.\.\.\) -> type`/],
    ['len(bytes) -> i32\n\nlen(bytes) -> i32', /^bad ffi declaration: ffi line 3 `len\(bytes\) -> i32`: `len` is declared twice/],
  ];
  for (const [text, re] of cases) {
    refused(t, { contract: c, library: await watModule(BYTES_LIB, text) }, 'link_error', re);
    refused(t, { contract: c, library: await watModule(BYTES_LIB), link: { ffi: text } }, 'link_error', re);
  }
  // an ffi section is only read when the contract imports from the library
  const alone = await watModule(`(module (func (export "main")))`);
  t.doesNotThrow(checkOf({ contract: alone, library: await watModule(BYTES_LIB, 'garbage') }));
});

t.test('link_error: memory, alloc, dealloc missing where bytes are used', async (t) => {
  const c = await watModule(BYTES_CONTRACT);
  const ffi = 'len(bytes) -> i32';
  const lib = (parts: { memory?: boolean; alloc?: string; dealloc?: boolean }) =>
    watModule(
      `(module (memory ${parts.memory === false ? '' : '(export "memory")'} 1)
        ${parts.alloc === undefined ? '(func (export "alloc") (param i32 i32) (result i32) i32.const 8)' : parts.alloc}
        ${parts.dealloc === false ? '' : '(func (export "dealloc") (param i32 i32 i32))'}
        (func (export "len") (param i32 i32) (result i32) local.get 1))`,
      ffi,
    );
  refused(t, { contract: c, library: await lib({ memory: false }) }, 'link_error', 'the library must export its memory as `memory`: functions declared with `bytes` copy through it');
  refused(t, { contract: c, library: await lib({ alloc: '' }) }, 'link_error', 'the library must export `alloc` (i32, i32) -> (i32)');
  refused(
    t,
    { contract: c, library: await lib({ alloc: '(func (export "alloc") (param i32) (result i32) i32.const 8)' }) },
    'link_error',
    'the library exports `alloc` as (i32) -> (i32), but it must be (i32, i32) -> (i32)',
  );
  refused(t, { contract: c, library: await lib({ dealloc: false }) }, 'link_error', 'the library must export `dealloc` (i32, i32, i32) -> ()');

  const good = await lib({});
  t.doesNotThrow(checkOf({ contract: c, library: good }), 'the complete library links');
  // the contract needs its memory for any bytes; alloc and dealloc only for bytes results
  const noMemory = await watModule(`(module (import "lib" "len" (func (param i32 i32) (result i32))) (memory 1) (func (export "main")))`);
  refused(t, { contract: noMemory, library: good }, 'link_error', 'the contract must export its memory as `memory`');

  const copyLib = await watModule(BYTES_LIB, 'copy(bytes) -> bytes');
  const copy = (extra: string) => watModule(`(module (import "lib" "copy" (func (param i32 i32) (result i64))) (memory (export "memory") 1) ${extra} (func (export "main")))`);
  refused(t, { contract: await copy(''), library: copyLib }, 'link_error', 'the contract must export `alloc` (i32, i32) -> (i32): functions returning `bytes` copy the result into the contract with it');
  refused(
    t,
    { contract: await copy('(func (export "alloc") (param i32 i32) (result i32) i32.const 8)'), library: copyLib },
    'link_error',
    'the contract must export `dealloc` (i32, i32, i32) -> ()',
  );
  t.doesNotThrow(
    checkOf({ contract: await copy('(func (export "alloc") (param i32 i32) (result i32) i32.const 8) (func (export "dealloc") (param i32 i32 i32))'), library: copyLib }),
  );
});

t.test('link_error: host imports', async (t) => {
  const unknown = await watModule(`(module (import "host" "print" (func (param i32 i32))) (func (export "main")))`);
  refused(t, { contract: unknown }, 'link_error', 'the contract imports `host.print`, which host ABI v1 does not have (it has input_len, input_read, output, log, panic)');
  const wrong = await watModule(`(module (import "host" "output" (func (param i32))) (func (export "main")))`);
  refused(t, { contract: wrong }, 'link_error', 'the contract imports `host.output` as (i32) -> (), but it is (i32, i32) -> ()');
  const wrongResult = await watModule(`(module (import "host" "input_len" (func (result i64))) (func (export "main")))`);
  refused(t, { contract: wrongResult }, 'link_error', 'as () -> (i64), but it is () -> (i32)');
  const notFunc = await watModule(`(module (import "host" "output" (global i32)) (func (export "main")))`);
  refused(t, { contract: notFunc }, 'link_error', 'the contract imports `host.output` as a global');
  // the same rules for the library
  const lib = await watModule(`(module (import "host" "log" (func (param i32 i32))) (func (export "f")))`);
  const c = await watModule(`(module (func (export "main")))`);
  refused(t, { contract: c, library: lib }, 'link_error', 'the library imports `host.log` as (i32, i32) -> (), but it is (i32, i32, i32) -> ()');
});

t.test('link_error: unknown and reserved import modules, imported memories', async (t) => {
  const env = await watModule(`(module (import "env" "f" (func)) (func (export "main")))`);
  refused(t, { contract: env }, 'link_error', 'the contract imports `env.f`: unknown import module `env` (known: host, lib)');
  refused(t, { contract: env, link: { namespace: 'mylib' } }, 'link_error', 'unknown import module `env` (known: host, mylib)');
  const libImportsLib = await watModule(`(module (import "lib" "f" (func)) (func (export "f")))`);
  refused(t, { contract: await watModule(`(module (func (export "main")))`), library: libImportsLib }, 'link_error', 'the library imports `lib.f`: unknown import module `lib` (known: host)');

  const meter = await watModule(`(module (import "__meter" "fuel" (global (mut i64))) (func (export "main")))`);
  refused(t, { contract: meter }, 'link_error', 'the contract imports `__meter.fuel`: the module name `__meter` is reserved for the meter');

  const mem = await watModule(`(module (import "env" "memory" (memory 1)) (func (export "main")))`);
  refused(t, { contract: mem }, 'link_error', 'the contract imports `env.memory` (a memory): in bridge mode each module has its own memory: use link mode "shared"');
  const libMem = await watModule(`(module (import "env" "memory" (memory 1)) (func (export "f")))`);
  refused(t, { contract: await watModule(`(module (func (export "main")))`), library: libMem }, 'link_error', 'the library imports `env.memory` (a memory)');

  const fromLib = await watModule(`(module (import "lib" "memory" (memory 1)) (func (export "main")))`);
  refused(t, { contract: fromLib, library: await watModule(`(module (memory (export "memory") 1))`) }, 'link_error', 'the contract imports `lib.memory` as a memory: only functions can be imported from the library');
});

t.test('link_error: shared mode without a library; reserved namespaces are bad requests', async (t) => {
  const c = await watModule(`(module (func (export "main")))`);
  refused(t, { contract: c, link: { mode: 'shared' } }, 'link_error', 'link mode `shared` needs a library');
  refused(t, { contract: c, link: { mode: 'shared', namespace: 'env' } }, 'bad_request', 'link namespace `env` is reserved in shared mode');
  refused(t, { contract: c, link: { namespace: 'host' } }, 'bad_request', 'link namespace `host` is reserved');
  refused(t, { contract: c, link: { namespace: '__meter' } }, 'bad_request', 'link namespace `__meter` is reserved');
  t.doesNotThrow(checkOf({ contract: c, link: { mode: 'bridge' } }));
});

t.test('link_error: the Rust kv contract against the wrong library or declarations', async (t) => {
  const kv = exampleModule('kv');
  refused(t, { contract: kv }, 'link_error', 'but no library was given');
  refused(t, { contract: kv, library: exampleModule('hello') }, 'link_error', /^the contract imports `lib\.map_\w+`, but the library exports no function `map_\w+`$/);
  // a request declaration that disagrees with the Rust import
  refused(
    t,
    { contract: kv, library: exampleModule('library'), link: { ffi: 'map_len(bytes) -> i32' } },
    'link_error',
    'signature mismatch for `lib.map_len`: the contract imports (i32) -> (i32), but the ffi declaration `map_len(bytes) -> i32` lowers to (i32, i32) -> (i32)',
  );
});

t.test('bad_request: entrypoint', async (t) => {
  const c = await watModule(`(module (memory (export "mem") 1) (func (export "main")) (func (export "other") (param i32)))`);
  refused(t, { contract: c, entrypoint: 'nope' }, 'bad_request', 'the contract exports no function `nope` (its functions: main, other)');
  refused(t, { contract: c, entrypoint: 'mem' }, 'bad_request', 'the contract exports no function `mem`');
  const none = await watModule(`(module)`);
  refused(t, { contract: none }, 'bad_request', 'the contract exports no function `main` (its functions: none)');
});

t.test('bad_request: argument count and types', async (t) => {
  const c = await watModule(`(module
    (func (export "i32") (param i32) (result i32) local.get 0)
    (func (export "i64") (param i64) (result i64) local.get 0)
    (func (export "f64") (param f64) (result f64) local.get 0)
    (func (export "two") (param i32 i64)))`);
  refused(t, { contract: c, entrypoint: 'two', args: [1] }, 'bad_request', 'entrypoint `two` takes 2 argument(s) (i32, i64), got 1');
  refused(t, { contract: c, entrypoint: 'two' }, 'bad_request', 'takes 2 argument(s) (i32, i64), got 0');
  refused(t, { contract: c, entrypoint: 'i32', args: [1, 2] }, 'bad_request', 'takes 1 argument(s) (i32), got 2');
  for (const bad of ['1', 1.5, 2 ** 32, -(2 ** 31) - 1, null, true, NaN]) {
    refused(t, { contract: c, entrypoint: 'i32', args: [bad] }, 'bad_request', 'argument 0 of `i32` must be an i32');
  }
  for (const bad of ['1.5', 'abc', '', ' 5', '0x10', 1.5, 2 ** 60, null]) {
    refused(t, { contract: c, entrypoint: 'i64', args: [bad] }, 'bad_request', 'argument 0 of `i64` must be an i64 as a decimal string');
  }
  for (const bad of ['18446744073709551616', '-9223372036854775809']) {
    refused(t, { contract: c, entrypoint: 'i64', args: [bad] }, 'bad_request', 'argument 0 of `i64` is out of the i64 range');
  }
  for (const bad of ['1', 'nan', null]) {
    refused(t, { contract: c, entrypoint: 'f64', args: [bad] }, 'bad_request', 'argument 0 of `f64` must be a f64');
  }

  // and what is accepted
  const one = (entrypoint: string, v: unknown) => run({ contract: c, entrypoint, args: [v] }).result!.values[0];
  t.equal(one('i32', 4294967295), -1, 'i32 up to 2^32-1 (wraps)');
  t.equal(one('i32', -2147483648), -2147483648);
  t.equal(one('i64', '-5'), '-5', 'i64 as a string');
  t.equal(one('i64', '18446744073709551615'), '-1', 'u64 max wraps');
  t.equal(one('i64', '-9223372036854775808'), '-9223372036854775808');
  t.equal(one('i64', 12345), '12345', 'a safe integer number is accepted for i64');
  t.equal(one('f64', 'Infinity'), 'Infinity');
  t.equal(one('f64', 'NaN'), 'NaN');
  t.equal(one('f64', -2.5), -2.5);
});

t.test('bad_request: entrypoints with types JSON cannot carry', async (t) => {
  const c = await watModule(`(module
    (func (export "v") (param v128))
    (func (export "vr") (result v128) v128.const i32x4 0 0 0 0)
    (func (export "ext") (param externref)))`);
  refused(t, { contract: c, entrypoint: 'v', args: [0] }, 'bad_request', 'entrypoint `v` uses v128, which JSON arguments and results cannot carry');
  refused(t, { contract: c, entrypoint: 'vr' }, 'bad_request', 'entrypoint `vr` uses v128');
  refused(t, { contract: c, entrypoint: 'ext', args: [null] }, 'bad_request', 'entrypoint `ext` uses externref');
});

t.test('invalid_module from prepare', async (t) => {
  const settings = DEFAULT_ENGINE_CONFIG.instrument;
  const p = (b: Uint8Array) => () => prepare(b, settings, DEFAULT_ENGINE_POLICY);
  expectRequestError(t, p(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), 'invalid_module');
  expectRequestError(t, p(new Uint8Array(0)), 'invalid_module');
  expectRequestError(t, p(new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])), 'invalid_module', /version/i);
  const good = await wat(`(module (func (export "main") (result i32) i32.const 1))`);
  expectRequestError(t, p(good.subarray(0, good.length - 3)), 'invalid_module');
  // a body that does not validate
  const bad = good.slice();
  bad[bad.length - 3] = 0x6a; // i32.const's immediate → i32.add on an empty stack
  expectRequestError(t, p(bad), 'invalid_module');
  t.doesNotThrow(p(good));
});

t.test('policy_violation from prepare', async (t) => {
  const settings = DEFAULT_ENGINE_CONFIG.instrument;
  const max = DEFAULT_ENGINE_POLICY.maxTableElements;
  const table = await wat(`(module (table ${max + 1} funcref))`);
  expectRequestError(t, () => prepare(table, settings, DEFAULT_ENGINE_POLICY), 'policy_violation', `a table starts with ${max + 1} elements, more than the limit of ${max}`);
  const atMax = await wat(`(module (table ${max} funcref))`);
  t.doesNotThrow(() => prepare(atMax, settings, DEFAULT_ENGINE_POLICY));

  const locals = await wat(`(module (func (local ${'i32 '.repeat(DEFAULT_ENGINE_POLICY.maxLocals + 1)})))`);
  expectRequestError(t, () => prepare(locals, settings, DEFAULT_ENGINE_POLICY), 'policy_violation', `more than the limit of ${DEFAULT_ENGINE_POLICY.maxLocals}`);

  const small = await wat(`(module (func) (func) (func))`);
  expectRequestError(t, () => prepare(small, settings, { ...DEFAULT_ENGINE_POLICY, maxFunctions: 2 }), 'policy_violation', 'module has 3 functions, more than the limit of 2');
  expectRequestError(t, () => prepare(small, settings, { ...DEFAULT_ENGINE_POLICY, maxModuleBytes: small.length - 1 }), 'policy_violation', `module is ${small.length} bytes`);

  const float = await wat(`(module (func (result i32) f32.const 1 i32.trunc_f32_s))`);
  expectRequestError(t, () => prepare(float, settings, { ...DEFAULT_ENGINE_POLICY, deterministic: true }), 'policy_violation', 'floats are not allowed by the determinism policy');
  t.doesNotThrow(() => prep(float), 'floats are fine by default');
  // a custom section does not change what is checked
  t.doesNotThrow(() => prep(withCustomSection(small, 'ffi', 'x() -> i32')));
});
