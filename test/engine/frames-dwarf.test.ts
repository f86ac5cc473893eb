/**
 * Frames with source positions: the modules' DWARF line tables (src/wasm/dwarf-line.ts) give each frame's
 * file, line and column. The bundled Rust example built with debug info (examples/debug/debug-trap,
 * DWARF 4) and its C counterpart (examples/debug/debug-trap-c, DWARF 5), checked against the sources
 * and, where the wasmtime oracle is installed, against wasmtime 49 with its debug info on. The reader
 * never throws on damaged tables.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { readLineTable } from '../../src/wasm/dwarf-line.js';
import { readModule } from '../../src/wasm/reader.js';
import { findOracle, runPythonJson } from '../support/wasmtime-diff.js';
import { runOnce } from '../support/wat.js';

const file = (path: string) => new Uint8Array(readFileSync(new URL(`../../examples/${path}`, import.meta.url)));
const RUST = file('wasm/debug-trap.wasm');
const C = file('debug/debug-trap-c/debug-trap-c.wasm');
const at = (f: { index: number; name: string | null; offset: number; file: string | null; line: number | null; column: number | null }) => [
  f.index,
  f.name,
  f.offset,
  `${f.file}:${f.line}:${f.column}`,
];
/** The line of `text` in a source file of the example (1-based), so the expectations follow the source. */
const lineOf = (path: string, text: string) => readFileSync(new URL(`../../examples/debug/${path}`, import.meta.url), 'utf8').split('\n').findIndex((l) => l.includes(text)) + 1;

t.test('the Rust example (DWARF 4): the trap and its caller at their source lines', async (t) => {
  const run = await runOnce(RUST, { entry: 'run' });
  t.equal(run.error?.message, 'out of bounds memory access');
  t.same(run.error?.frames?.map(at), [
    [1, 'debug_trap::math::load_scaled', 202, `debug-trap/src/math.rs:${lineOf('debug-trap/src/math.rs', 'let v = unsafe { *p };')}:22`],
    [3, 'run', 234, `debug-trap/src/lib.rs:${lineOf('debug-trap/src/lib.rs', 'math::load_scaled(a) + 1')}:5`],
  ]);
  const divide = await runOnce(RUST, { entry: 'divide', args: [5] });
  const [inner, outer] = divide.error!.frames!;
  // the `unreachable` is core's, inlined: the line table holds the innermost inlined line
  t.match(inner, { index: 0, name: 'debug_trap::math::checked_div', line: 25, column: 5 });
  t.match(inner!.file, /core_arch\/src\/wasm32\/mod\.rs$/);
  t.same(at(outer!), [4, 'divide', 257, `debug-trap/src/lib.rs:${lineOf('debug-trap/src/lib.rs', 'math::checked_div(a, d)')}:5`]);
});

t.test('the C example (DWARF 5)', async (t) => {
  const run = await runOnce(C, { entry: 'run' });
  t.same(run.error?.frames?.map(at), [
    [2, 'load_scaled', 130, `debug-trap-c/math.c:${lineOf('debug-trap-c/math.c', 'int v = *p;')}:13`],
    [0, 'run', 96, `debug-trap-c/main.c:${lineOf('debug-trap-c/main.c', 'return load_scaled')}:12`],
  ]);
  const divide = await runOnce(C, { entry: 'divide', args: [5] });
  t.same(divide.error?.frames?.map(at), [
    [3, 'checked_div', 145, `debug-trap-c/math.c:${lineOf('debug-trap-c/math.c', '__builtin_trap()')}:9`],
    [1, 'divide', 119, `debug-trap-c/main.c:${lineOf('debug-trap-c/main.c', 'return checked_div')}:12`],
  ]);
});

t.test('a module without debug info: no positions; damaged line tables: null, never a throw', async (t) => {
  const plain = await runOnce(file('wasm/panic.wasm'), { input: new TextEncoder().encode('x') });
  t.ok(plain.error!.frames!.length > 0 && plain.error!.frames!.every((f) => f.file === null && f.line === null && f.column === null), 'no DWARF: file, line, column null');
  t.equal(readLineTable(readModule(file('wasm/hello.wasm'))), null);
  const m = readModule(RUST);
  const section = m.customs.find((c) => c.name === '.debug_line')!;
  let tables = 0;
  let nulls = 0;
  // every 7th byte of the section's payload set to each of 0x00, 0xff, 0x80; then truncations of it
  for (let i = section.start + 12; i < section.end; i += 7) {
    for (const v of [0x00, 0xff, 0x80]) {
      const b = RUST.slice();
      b[i] = v;
      const r = readLineTable(readModule(b));
      if (r === null) nulls++;
      else {
        tables++;
        r.lookup(202);
      }
    }
  }
  t.ok(tables + nulls > 200, `${tables + nulls} damaged tables read without a throw (${nulls} refused)`);
});

const oracle = findOracle();
t.test('against wasmtime with debug info', { skip: 'skip' in oracle ? oracle.skip : false }, async (t) => {
  if ('skip' in oracle) return;
  const script = new URL('../support/wasmtime_frames.py', import.meta.url).pathname;
  for (const [what, bytes] of [
    ['Rust', RUST],
    ['C', C],
  ] as const) {
    const calls = [
      { field: 'run', args: [] },
      { field: 'divide', args: [5] },
    ];
    const theirs = await runPythonJson<{ results: Array<{ frames: Array<{ index: number; offset: number; file: string | null; line: number | null; column: number | null }> }> }>(
      oracle.python,
      script,
      { wasm: Buffer.from(bytes).toString('base64'), calls },
      'wasmtime_frames.py',
    );
    for (const [k, c] of calls.entries()) {
      const ours = (await runOnce(bytes, { entry: c.field, args: c.args })).error!.frames!;
      const them = theirs.results[k]!.frames;
      t.same(ours.map((f) => f.index), them.map((f) => f.index), `${what} ${c.field}: the same functions`);
      // wasmtime reports a conditional trap at the branch it fused with the `unreachable` after it: where
      // the offsets agree, the positions must too
      const agreed = ours.filter((f, i) => f.offset === them[i]!.offset);
      t.ok(agreed.length >= ours.length - 1, `${what} ${c.field}: ${agreed.length} of ${ours.length} offsets equal wasmtime's`);
      for (const f of agreed) {
        const w = them[ours.indexOf(f)]!;
        t.same([f.file, f.line, f.column], [w.file, w.line, w.column], `${what} ${c.field}: frame ${f.index} at ${w.file}:${w.line}:${w.column}`);
      }
    }
  }
});
