/**
 * src/engine/ffi.ts: the `ffi` declaration language (docs/ABI.md, Bridge linking): parsing, comments, lowering to
 * wasm signatures, and the errors a library author sees.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { FfiSyntaxError, formatDecl, lowerDecl, parseFfi, usesBytes, type FfiDecl } from '../../src/engine/ffi.js';
import { formatFuncType, sameFuncType, ValType } from '../../src/wasm/module.js';
import { exampleModule } from '../support/engine.js';

const { i32, i64, f32, f64 } = ValType;

t.test('parse: declarations with and without results', async (t) => {
  const d = parseFfi('map_new() -> handle\nmap_insert(handle, bytes, bytes)\nadd(i64, i64) -> i64\nf(f32, f64) -> f32');
  t.same([...d.keys()], ['map_new', 'map_insert', 'add', 'f']);
  t.same(d.get('map_new'), { name: 'map_new', params: [], result: 'handle', line: 1 });
  t.same(d.get('map_insert'), { name: 'map_insert', params: ['handle', 'bytes', 'bytes'], result: null, line: 2 });
  t.same(d.get('add'), { name: 'add', params: ['i64', 'i64'], result: 'i64', line: 3 });
  t.same(d.get('f'), { name: 'f', params: ['f32', 'f64'], result: 'f32', line: 4 });
});

t.test('parse: whitespace, names, empty text', async (t) => {
  const d = parseFfi('  spaced ( i32 ,i64 ,  bytes )->bytes  \n\t$odd.name_2(handle)\n_x()');
  t.same(d.get('spaced'), { name: 'spaced', params: ['i32', 'i64', 'bytes'], result: 'bytes', line: 1 });
  t.same(d.get('$odd.name_2'), { name: '$odd.name_2', params: ['handle'], result: null, line: 2 });
  t.same(d.get('_x'), { name: '_x', params: [], result: null, line: 3 });
  t.equal(parseFfi('').size, 0);
  t.equal(parseFfi('\n\n   \n').size, 0);
});

t.test('comments and line numbers', async (t) => {
  const d = parseFfi('# header\n\nf(i32) -> i32 # trailing comment\n   # indented comment\r\ng(bytes)\r\n#h(i32)\n');
  t.same([...d.keys()], ['f', 'g'], 'commented-out declarations are ignored');
  t.equal(d.get('f')!.line, 3, 'blank and comment lines count');
  t.equal(d.get('g')!.line, 5, 'CRLF line endings');
  t.same(d.get('g')!.params, ['bytes']);
  t.equal(parseFfi('# only a comment').size, 0);
  t.same(parseFfi('f() #-> i32').get('f')!.result, null, 'a # starts a comment even inside a declaration');
});

t.test('errors: unknown type, bad line, duplicate', async (t) => {
  const err = (text: string, re: RegExp) => {
    let thrown: unknown;
    try {
      parseFfi(text);
    } catch (e) {
      thrown = e;
    }
    t.ok(thrown instanceof FfiSyntaxError, `${JSON.stringify(text)} throws an FfiSyntaxError`);
    t.match((thrown as Error | undefined)?.message, re, JSON.stringify(text));
  };
  err('f(string)', /^ffi line 1 `f\(string\)`: unknown type `string` \(types: i32 i64 f32 f64 handle bytes\)$/);
  err('f(i32) -> u8', /^ffi line 1 `f\(i32\) -> u8`: unknown type `u8`/);
  err('f(I32)', /unknown type `I32`/);
  err('f(i32,,i32)', /unknown type ``/);
  err('f(i32,)', /unknown type ``/);
  err('\n\n  f(v128) # c', /^ffi line 3 `f\(v128\) # c`: unknown type `v128`/);
  err('not a declaration', /^ffi line 1 `not a declaration`: expected `name\(type, \.\.\.\) -> type` or `name\(type, \.\.\.\)`$/);
  err('f(i32) ->', /expected `name\(type/);
  err('f(i32) -> i32 i32', /expected `name\(type/);
  err('f(i32) i32', /expected `name\(type/);
  err('(i32) -> i32', /expected `name\(type/);
  err('9f(i32)', /expected `name\(type/);
  err('f(i32', /expected `name\(type/);
  err('f(i32) -> i32\nf(i64)', /^ffi line 2 `f\(i64\)`: `f` is declared twice$/);
  t.type(new FfiSyntaxError('x'), Error);
});

t.test('lowering', async (t) => {
  const decl = (s: string): FfiDecl => parseFfi(s).values().next().value!;
  const cases: Array<[string, number[], number[]]> = [
    ['f()', [], []],
    ['f() -> handle', [], [i32]],
    ['f(handle) -> i32', [i32], [i32]],
    ['f(bytes)', [i32, i32], []],
    ['f(bytes) -> bytes', [i32, i32], [i64]],
    ['f(handle, bytes, bytes)', [i32, i32, i32, i32, i32], []],
    ['f(i64, bytes, f64) -> f32', [i64, i32, i32, f64], [f32]],
    ['f(f32, f64, i32, i64) -> f64', [f32, f64, i32, i64], [f64]],
  ];
  for (const [s, params, results] of cases) {
    t.same(lowerDecl(decl(s)), { params, results }, s);
  }
});

t.test('usesBytes and formatDecl', async (t) => {
  const d = parseFfi('a(bytes)\nb() -> bytes\nc(handle, i32) -> handle\nd()\ne(  i32,bytes )->i64');
  t.same(
    [...d.values()].map((x) => usesBytes(x)),
    [true, true, false, false, true],
  );
  t.same(
    [...d.values()].map((x) => formatDecl(x)),
    ['a(bytes)', 'b() -> bytes', 'c(handle, i32) -> handle', 'd()', 'e(i32, bytes) -> i64'],
  );
  // formatting is a fixed point of parsing
  for (const x of d.values()) {
    const again = parseFfi(formatDecl(x)).get(x.name)!;
    t.same({ ...again, line: x.line }, x);
  }
});

t.test('the example library: its section parses and lowers to its exports', async (t) => {
  const lib = exampleModule('library');
  const text = readFileSync(new URL('../../examples/library/ffi.txt', import.meta.url), 'utf8');
  t.equal(lib.info.ffi, text, 'the custom section is exactly ffi.txt');
  const decls = parseFfi(lib.info.ffi!);
  t.same([...decls.keys()], ['map_new', 'map_insert', 'map_get', 'map_len', 'map_encode', 'map_free', 'sha256', 'hex', 'add_i64', 'recurse']);
  for (const d of decls.values()) {
    const exp = lib.info.exports.find((e) => e.name === d.name && e.kind === 'func');
    t.ok(exp, `${d.name} is exported`);
    t.ok(sameFuncType(exp!.type!, lowerDecl(d)), `${formatDecl(d)} lowers to the export's ${formatFuncType(exp!.type!)}`);
  }
  t.same(
    [...decls.values()].filter((d) => !usesBytes(d)).map((d) => d.name),
    ['map_new', 'map_len', 'map_free', 'add_i64', 'recurse'],
    'the functions wired directly',
  );
});
