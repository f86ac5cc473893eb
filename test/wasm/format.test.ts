/**
 * The binary format layer: LEB128 edge values (src/wasm/leb.ts), reader errors on truncated and
 * malformed input (src/wasm/reader.ts), the opcode table (src/wasm/opcodes.ts) and instruction
 * decoding through it (src/wasm/instructions.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t, { type Test } from 'tap';
import { decodeInstructions, instrName, type Instr } from '../../src/wasm/instructions.js';
import { ByteReader, ByteWriter, WasmFormatError, u32Size } from '../../src/wasm/leb.js';
import { FC, FC_BULK, FD, FE, INVALID, SINGLE, baseCost, opName, type OpTable } from '../../src/wasm/opcodes.js';
import { readModule } from '../../src/wasm/reader.js';
import { listScripts, repoRoot, specRoot } from '../support/spec-files.js';
import { wabt, wat } from '../support/wat.js';

const bytes = (...b: number[]) => Uint8Array.from(b);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const reader = (...b: number[]) => new ByteReader(bytes(...b));

/** A tiny deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function throwsFormat(t: Test, fn: () => unknown, message: RegExp, what: string): void {
  try {
    fn();
    t.fail(`${what}: expected a WasmFormatError`);
  } catch (e) {
    t.ok(e instanceof WasmFormatError, `${what}: WasmFormatError`);
    t.match((e as Error).message, message, `${what}: ${message}`);
  }
}

t.test('LEB128: unsigned 32', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [1, '01'],
    [127, '7f'],
    [128, '8001'],
    [624485, 'e58e26'],
    [2 ** 28 - 1, 'ffffff7f'],
    [2 ** 28, '8080808001'],
    [0xffffffff, 'ffffffff0f'],
  ];
  for (const [v, enc] of cases) {
    t.equal(hex(new ByteWriter().u32(v).finish()), enc, `write ${v}`);
    const r = new ByteReader(Buffer.from(enc, 'hex'));
    t.equal(r.u32(), v, `read ${enc}`);
    t.equal(r.pos, enc.length / 2, 'consumed every byte');
    t.equal(u32Size(v), enc.length / 2, `u32Size(${v})`);
  }
  // padded (non-canonical) encodings are accepted, up to 5 bytes
  t.equal(reader(0x80, 0x00).u32(), 0);
  t.equal(reader(0x80, 0x80, 0x80, 0x80, 0x00).u32(), 0);
  t.equal(reader(0xe5, 0x8e, 0xa6, 0x80, 0x00).u32(), 624485);
  t.equal(reader(0xff, 0xff, 0xff, 0xff, 0x0f).u32(), 0xffffffff);
  throwsFormat(t, () => reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x00).u32(), /integer representation too long/, '6 bytes');
  throwsFormat(t, () => reader(0xff, 0xff, 0xff, 0xff, 0x8f, 0x00).u32(), /integer representation too long/, 'continuation on byte 5');
  throwsFormat(t, () => reader(0xff, 0xff, 0xff, 0xff, 0x1f).u32(), /integer too large/, '2^32');
  throwsFormat(t, () => reader(0x80, 0x80, 0x80, 0x80, 0x70).u32(), /integer too large/, 'high bits of byte 5');
  throwsFormat(t, () => reader(0x80, 0x80).u32(), /unexpected end/, 'truncated');
  throwsFormat(t, () => reader().u32(), /unexpected end at byte 0/, 'empty');

  // u32Padded / patchU32Padded: always 5 bytes, patchable in place
  const w = new ByteWriter(2);
  w.byte(0xaa).u32Padded(0).byte(0xbb);
  t.equal(hex(w.finish()), 'aa8080808000bb');
  w.patchU32Padded(1, 0xffffffff);
  t.equal(hex(w.finish()), 'aaffffffff0fbb');
  w.patchU32Padded(1, 300);
  const r = new ByteReader(w.finish(), 1);
  t.equal(r.u32(), 300);
  t.equal(r.pos, 6);
});

t.test('LEB128: signed 32', async (t) => {
  const cases: Array<[number, string]> = [
    [0, '00'],
    [-1, '7f'],
    [63, '3f'],
    [64, 'c000'],
    [-64, '40'],
    [-65, 'bf7f'],
    [2147483647, 'ffffffff07'],
    [-2147483648, '8080808078'],
  ];
  for (const [v, enc] of cases) {
    t.equal(hex(new ByteWriter().s32(v).finish()), enc, `write ${v}`);
    const r = new ByteReader(Buffer.from(enc, 'hex'));
    t.equal(r.s32(), v, `read ${enc}`);
    t.equal(r.pos, enc.length / 2);
  }
  t.equal(reader(0xff, 0x7f).s32(), -1, 'padded -1');
  t.equal(reader(0xff, 0xff, 0xff, 0xff, 0x7f).s32(), -1, '5-byte -1');
  t.equal(reader(0x80, 0x80, 0x80, 0x80, 0x00).s32(), 0, '5-byte 0');
  t.equal(reader(0xc0, 0xbb, 0x78).s32(), -123456);
  throwsFormat(t, () => reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x00).s32(), /integer representation too long/, '6 bytes');
  throwsFormat(t, () => reader(0xff, 0xff, 0xff, 0xff, 0x4f).s32(), /integer too large/, 'byte 5 = 0x4f');
  throwsFormat(t, () => reader(0xff, 0xff, 0xff, 0xff, 0x17).s32(), /integer too large/, 'byte 5 = 0x17');
  // Byte 5 holds bits 28..31; bit 31 (0x08) is the sign, and the unused bits 0x70 must all equal it
  // (spec: binary-leb128.wast "integer too large" for `i32.const` ff ff ff ff 0f and 80 80 80 80 70).
  for (const last of [0x0f, 0x08, 0x70, 0x77]) {
    const b = last & 0x08 ? [0xff, 0xff, 0xff, 0xff, last] : [0x80, 0x80, 0x80, 0x80, last];
    let threw = false;
    try {
      reader(...b).s32();
    } catch (e) {
      threw = e instanceof WasmFormatError && /integer too large/.test(e.message);
    }
    t.ok(threw, `s32 ${hex(bytes(...b))} is malformed (integer too large)`);
  }
});

t.test('LEB128: signed 64', async (t) => {
  const max = 2n ** 63n - 1n;
  const min = -(2n ** 63n);
  const cases: Array<[bigint, string]> = [
    [0n, '00'],
    [-1n, '7f'],
    [64n, 'c000'],
    [-65n, 'bf7f'],
    [2n ** 32n, '8080808010'],
    [max, 'ffffffffffffffffff00'],
    [min, '8080808080808080807f'],
  ];
  for (const [v, enc] of cases) {
    t.equal(hex(new ByteWriter().s64(v).finish()), enc, `write ${v}`);
    const r = new ByteReader(Buffer.from(enc, 'hex'));
    t.equal(r.s64(), v, `read ${enc}`);
    t.equal(r.pos, enc.length / 2);
  }
  t.equal(hex(new ByteWriter().s64(2n ** 64n - 1n).finish()), '7f', 'wraps to 64 bits');
  t.equal(reader(0xff, 0xff, 0x7f).s64(), -1n, 'padded -1');
  t.equal(reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00).s64(), 0n, '10-byte 0');
  t.equal(reader(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f).s64(), -1n, '10-byte -1');
  throwsFormat(t, () => reader(...Array(10).fill(0x80), 0x00).s64(), /integer representation too long/, '11 bytes');
  throwsFormat(t, () => reader(...Array(9).fill(0x80), 0x01).s64(), /integer too large/, 'byte 10 = 0x01');
  throwsFormat(t, () => reader(...Array(9).fill(0xff), 0x7e).s64(), /integer too large/, 'byte 10 = 0x7e');
  throwsFormat(t, () => reader(...Array(9).fill(0xff), 0x41).s64(), /integer too large/, 'byte 10 = 0x41');
  throwsFormat(t, () => reader(0xff).s64(), /unexpected end/, 'truncated');
});

t.test('LEB128: random values round-trip through writer and reader', async (t) => {
  const rnd = prng(42);
  let n = 0;
  for (let i = 0; i < 3000; i++) {
    const bits = 1 + Math.floor(rnd() * 32);
    const u = Math.floor(rnd() * 2 ** bits) >>> 0;
    const s = u | 0;
    const big = BigInt.asIntN(64, (BigInt(Math.floor(rnd() * 2 ** 32)) << 32n) | BigInt(u)) >> BigInt(Math.floor(rnd() * 64));
    const w = new ByteWriter(1).u32(u).s32(s).s64(big);
    const r = new ByteReader(w.finish());
    if (r.u32() !== u || r.s32() !== s || r.s64() !== big || !r.atEnd()) t.fail(`round trip of ${u} / ${s} / ${big}`);
    else n++;
  }
  t.equal(n, 3000, 'all round-tripped');
});

t.test('skipLeb, skip, take, names', async (t) => {
  const r = reader(0x80, 0x80, 0x01, 0x05);
  r.skipLeb(5);
  t.equal(r.pos, 3);
  throwsFormat(t, () => reader(0x80, 0x80, 0x80, 0x80, 0x80, 0x00).skipLeb(5), /integer representation too long/, 'skipLeb(5) of 6 bytes');
  throwsFormat(t, () => reader(1, 2).skip(3), /unexpected end/, 'skip past the end');
  throwsFormat(t, () => reader(1, 2).skip(-1), /unexpected end/, 'negative skip');
  t.same([...reader(1, 2, 3).take(2)], [1, 2]);
  const bounded = new ByteReader(bytes(1, 2, 3, 4), 1, 3);
  t.equal(bounded.byte(), 2);
  t.equal(bounded.byte(), 3);
  throwsFormat(t, () => bounded.byte(), /unexpected end at byte 3/, 'reader bounded by `end`');

  const w = new ByteWriter().name('héllo, wörld ✓').name('');
  const nr = new ByteReader(w.finish());
  t.equal(nr.name(), 'héllo, wörld ✓');
  t.equal(nr.name(), '');
  t.ok(nr.atEnd());
  throwsFormat(t, () => reader(0x02, 0xc3, 0x28).name(), /malformed UTF-8 encoding at byte 1/, 'invalid UTF-8');
  throwsFormat(t, () => reader(0x01, 0xff).name(), /malformed UTF-8/, 'byte 0xff');
  throwsFormat(t, () => reader(0x05, 0x61).name(), /unexpected end/, 'name longer than the input');
  t.equal(reader(0x03, 0xef, 0xbb, 0xbf).name(), '\ufeff', 'a BOM is kept, not stripped');
});

// ---------------------------------------------------------------------------------------------------
// Reader errors

/** Builds a module from sections given as [id, payload bytes]. */
function mod(...sections: Array<[number, number[]]>): Uint8Array {
  const w = new ByteWriter().bytes(bytes(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00));
  for (const [id, payload] of sections) w.byte(id).u32(payload.length).bytes(Uint8Array.from(payload));
  return w.finish();
}

t.test('reader: malformed modules throw WasmFormatError naming the problem', async (t) => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty', bytes(), /too short/],
    ['bad magic', bytes(0x00, 0x61, 0x73, 0x6e, 1, 0, 0, 0), /bad magic number/],
    ['version 2', bytes(0x00, 0x61, 0x73, 0x6d, 2, 0, 0, 0), /unsupported wasm version 2/],
    ['unknown section', mod([13, []]), /unknown section id 13/],
    ['section past the end', bytes(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 10, 0), /section size out of bounds/],
    ['truncated section size', bytes(0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 0x80), /unexpected end/],
    ['type form', mod([1, [1, 0x61, 0, 0]]), /unsupported type form 0x61/],
    ['huge vector', mod([1, [0xff, 0xff, 0xff, 0xff, 0x0f]]), /vector length larger than the section/],
    ['value type', mod([1, [1, 0x60, 1, 0x40, 0]]), /unsupported value type 0x40/],
    ['import kind', mod([2, [1, 1, 0x61, 1, 0x62, 4, 0]]), /bad import kind 4/],
    ['export kind', mod([7, [1, 1, 0x61, 4, 0]]), /bad export kind 4/],
    ['limits flags', mod([5, [1, 8, 0]]), /bad limits flags 8/],
    ['global mutability', mod([6, [1, 0x7f, 2, 0x41, 0, 0x0b]]), /malformed mutability/],
    ['const expr opcode', mod([6, [1, 0x7f, 0, 0x06, 0x0b]]), /unknown opcode 0x6/],
    ['const expr without end', mod([6, [1, 0x7f, 0, 0x41, 0]]), /unexpected end/],
    ['section size mismatch', mod([1, [1, 0x60, 0, 0, 0x00]]), /section size mismatch/],
    ['function without code', mod([1, [1, 0x60, 0, 0]], [3, [1, 0]]), /function and code section have inconsistent lengths/],
    ['body out of bounds', mod([1, [1, 0x60, 0, 0]], [3, [1, 0]], [10, [1, 9, 0, 0x0b]]), /function body out of bounds/],
    ['data flags', mod([11, [1, 3]]), /bad data segment flags 3/],
    ['data past the section', mod([5, [1, 0, 1]], [11, [1, 1, 5, 0x61]]), /unexpected end/],
    ['element flags', mod([9, [1, 8]]), /bad element segment flags 8/],
    ['element kind', mod([9, [1, 1, 0x01, 0]]), /bad element kind 1/],
    ['custom section name', mod([0, [2, 0xc3, 0x28]]), /malformed UTF-8/],
    ['custom name past the section', mod([0, [5, 0x61]]), /unexpected end/],
    ['import name', mod([2, [1, 1, 0xff, 0, 0, 0]]), /malformed UTF-8/],
  ];
  for (const [what, b, message] of cases) throwsFormat(t, () => readModule(b), message, what);
  // and the error carries the offset
  try {
    readModule(mod([1, [1, 0x61, 0, 0]]));
  } catch (e) {
    t.equal((e as WasmFormatError).offset, 11, 'offset of the bad type form');
  }
});

function deepRead(b: Uint8Array): void {
  const m = readModule(b);
  for (const f of m.code) decodeInstructions(b, f.codeStart, f.body.end);
  for (const g of m.globals) decodeInstructions(b, g.init.start, g.init.end);
  for (const d of m.data) if (d.offset) decodeInstructions(b, d.offset.start, d.offset.end);
  for (const e of m.elements) {
    if (e.offset) decodeInstructions(b, e.offset.start, e.offset.end);
    for (const x of e.exprs ?? []) decodeInstructions(b, x.start, x.end);
  }
}

t.test('reader: every truncation of real modules is an error or a shorter module, never a hang', async (t) => {
  const sources: Array<[string, Uint8Array]> = [
    ['hello.wasm', new Uint8Array(readFileSync(path.join(repoRoot(), 'examples/wasm/hello.wasm')))],
    ['fib.wasm', new Uint8Array(readFileSync(path.join(repoRoot(), 'examples/wasm/fib.wasm')))],
    [
      'wat',
      await wat(`(module (import "a" "b" (func (param i32))) (memory 1) (table 2 funcref) (global (mut i32) (i32.const 5))
        (func $f (export "f") (param i32) (result i32) local.get 0 i32.const 1 i32.add)
        (elem (i32.const 0) $f) (data (i32.const 8) "xyz"))`),
    ],
  ];
  for (const [name, full] of sources) {
    let errors = 0;
    let accepted = 0;
    const bad: string[] = [];
    for (let len = 0; len < full.length; len++) {
      const prefix = full.subarray(0, len);
      try {
        const m = readModule(prefix);
        const last = m.sections.at(-1);
        if ((last?.end ?? 8) !== len) bad.push(`${len}: accepted, but its sections end at ${last?.end}`);
        accepted++;
      } catch (e) {
        if (!(e instanceof WasmFormatError)) bad.push(`${len}: ${(e as Error).name}: ${(e as Error).message}`);
        errors++;
      }
      if (WebAssembly.validate(prefix as BufferSource)) {
        try {
          readModule(prefix);
        } catch {
          bad.push(`${len}: V8 validates it but readModule throws`);
        }
      }
    }
    t.same(bad, [], `${name}: ${full.length} prefixes, ${errors} WasmFormatError, ${accepted} shorter modules`);
    t.ok(errors > full.length / 2, 'most prefixes are errors');
  }
});

t.test('reader + decoder on mutated modules: a result or a WasmFormatError, nothing else', async (t) => {
  const base = new Uint8Array(readFileSync(path.join(repoRoot(), 'examples/wasm/hello.wasm')));
  const rnd = prng(7);
  let errors = 0;
  const other: string[] = [];
  const N = 3000;
  for (let i = 0; i < N; i++) {
    const b = base.slice();
    const flips = 1 + Math.floor(rnd() * 3);
    for (let k = 0; k < flips; k++) {
      const at = 8 + Math.floor(rnd() * (b.length - 8));
      b[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : b[at]! ^ (1 << Math.floor(rnd() * 8));
    }
    try {
      deepRead(b);
    } catch (e) {
      if (e instanceof WasmFormatError) errors++;
      else other.push(`${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  t.same(other.slice(0, 5), [], `${N} mutants: ${errors} WasmFormatError, ${N - errors - other.length} read, ${other.length} other`);
});

const spec = specRoot();
t.test("reader on the spec suite's malformed binary modules", { skip: spec ? false : '../shared/wasm-spec is absent' }, async (t) => {
  const root = spec!;
  let n = 0;
  let rejected = 0;
  const other: string[] = [];
  const lebAccepted: string[] = [];
  for (const dir of listScripts(root)) {
    const name = path.basename(dir);
    const script = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as {
      commands: Array<{ type: string; module_type?: string; filename?: string; text?: string }>;
    };
    for (const c of script.commands) {
      if (c.type !== 'assert_malformed' || c.module_type !== 'binary') continue;
      n++;
      try {
        deepRead(new Uint8Array(readFileSync(path.join(dir, c.filename!))));
        if (name === 'binary-leb128') lebAccepted.push(c.filename!);
      } catch (e) {
        if (e instanceof WasmFormatError) rejected++;
        else other.push(`${c.filename}: ${(e as Error).name}: ${(e as Error).message}`);
      }
    }
  }
  // Semantic checks (local counts, data count, section order...) are V8's job; the reader only has
  // to fail cleanly on what it cannot read.
  t.same(other, [], `${n} malformed modules: ${rejected} WasmFormatError, ${n - rejected - other.length} left to V8`);
  t.ok(rejected > n / 2, 'most are rejected by the reader itself');
  // binary-leb128.73/74: `i32.const` 80 80 80 80 70 / ff ff ff ff 0f in a global initialiser
  t.notOk(lebAccepted.includes('binary-leb128.73.wasm') || lebAccepted.includes('binary-leb128.74.wasm'), 'malformed s32 immediates rejected');
  t.comment(`binary-leb128 modules the reader accepts (memarg offsets are read as u64 for memory64; s32 byte 5): ${lebAccepted.join(', ')}`);
});

// ---------------------------------------------------------------------------------------------------
// The opcode table

const named = (tbl: OpTable) => tbl.names.filter((n) => n !== '').length;

t.test('opcode table: counts and consistency', async (t) => {
  // single-byte: control 0x00-0x05, 0x0b-0x11 (13) + return_call(_indirect) (2) + drop, select, select t (3)
  // + locals/globals (5) + table.get/set (2) + 23 loads/stores + memory.size/grow (2) + 4 consts
  // + 128 numeric 0x45..0xc4 + ref.null, ref.is_null, ref.func (3) = 185
  t.equal(named(SINGLE), 185, '185 single-byte opcodes');
  t.equal(named(FC), 18, '0xFC: 8 trunc_sat + 10 bulk memory/table');
  // 0xFD: 236 fixed-width SIMD (0x00..0xff with 20 gaps) + 20 relaxed SIMD (0x100..0x113)
  t.equal(named(FD), 256, '0xFD: 236 SIMD + 20 relaxed SIMD');
  t.equal(FD.names.slice(0, 0x100).filter((n) => n).length, 236);
  t.equal(FD.names.slice(0x100).filter((n) => n).length, 20);
  // 0xFE: notify, wait32, wait64, fence + 7 loads + 7 stores + 7 rmw ops x 7 widths
  t.equal(named(FE), 4 + 7 + 7 + 49, '0xFE: 67 atomics');
  for (const [label, tbl] of [['single', SINGLE], ['0xFC', FC], ['0xFD', FD], ['0xFE', FE]] as const) {
    const mismatched = tbl.names.flatMap((n, i) => ((n === '') !== (tbl.imm[i] === INVALID) ? [i] : []));
    t.same(mismatched, [], `${label}: a name exactly where an immediate layout is`);
  }
  const zero = SINGLE.names.flatMap((n, op) => (n && baseCost(op) === 0 ? [n] : []));
  t.same(zero, ['unreachable', 'nop', 'block', 'loop', 'else', 'end', 'return', 'drop'], 'the free operators');
  t.same([...FC_BULK].map((s) => FC.names[s]).sort(), ['memory.copy', 'memory.fill', 'memory.init', 'table.copy', 'table.fill', 'table.grow', 'table.init']);
  t.equal(opName(0x6a), 'i32.add');
  t.equal(opName(0xfd, 0xae), 'i32x4.add');
  t.equal(opName(0xfd, 0x100), 'i8x16.relaxed_swizzle');
  t.equal(opName(0xfe, 0x4e), 'i64.atomic.rmw32.cmpxchg_u');
  t.equal(opName(0x06), '0x6');
  t.equal(opName(0xfc, 99), '0xfc 99');
});

t.test("opcode table: every name is wabt's", async (t) => {
  // Each opcode alone in a function body (zeroed immediates), disassembled by wabt: the first
  // instruction of the body must be our name. block/loop/if/else/end need structure: left out.
  const w = await wabt();
  const ZERO_IMM: Record<number, number[]> = {
    1: [0x40], 3: [1, 0, 0], 5: [0, 0], 9: [0, 0], 11: [0], 12: [0], 13: [0, 0, 0, 0], 14: Array(8).fill(0),
    15: [1, 0x7f], 16: [0x70], 17: Array(16).fill(0), 18: [0], 19: [0, 0, 0], 20: [0, 0], 22: [0, 0], 23: [0, 0],
    25: [0, 0], 26: [0],
  };
  const head = [0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 4, 4, 1, 0x70, 0, 1, 5, 3, 1, 0, 1, 12, 1, 1];
  const tail = [11, 3, 1, 1, 0];
  let checked = 0;
  const wrong: string[] = [];
  for (const [prefix, tbl] of [[-1, SINGLE], [0xfc, FC], [0xfd, FD], [0xfe, FE]] as const) {
    for (let op = 0; op < tbl.imm.length; op++) {
      const kind = tbl.imm[op]!;
      if (kind === INVALID || (prefix < 0 && [0x02, 0x03, 0x04, 0x05, 0x0b].includes(op))) continue;
      const code = new ByteWriter();
      if (prefix >= 0) code.byte(prefix).u32(op);
      else code.byte(op);
      code.bytes(Uint8Array.from(ZERO_IMM[kind] ?? (kind === 0 ? [] : [0])));
      const body = new ByteWriter().byte(0).bytes(code.finish()).byte(0x0b).finish();
      const codeSec = new ByteWriter().u32(1).u32(body.length).bytes(body).finish();
      const b = new ByteWriter().bytes(Uint8Array.from(head)).byte(10).u32(codeSec.length).bytes(codeSec).bytes(Uint8Array.from(tail)).finish();
      const m = w.readWasm(b, { readDebugNames: false, check: false, simd: true, threads: true, tail_call: true, relaxed_simd: true, bulk_memory: true, reference_types: true, sat_float_to_int: true, sign_extension: true, multi_value: true });
      const first = m.toText({}).split('\n').find((l: string) => /^ {4}\S/.test(l))?.trim().split(/\s+/)[0]?.replace(/\)+$/, '');
      m.destroy();
      checked++;
      if (first !== tbl.names[op]) wrong.push(`${prefix < 0 ? '' : `0x${prefix.toString(16)} `}${op}: ours ${tbl.names[op]}, wabt ${first}`);
    }
  }
  t.equal(checked, 185 + 18 + 256 + 67 - 5, 'every named opcode but the 5 structural ones');
  t.same(wrong, [], 'names agree');
});

t.test('decodeInstructions: every immediate layout, on a module that uses them', async (t) => {
  // [WAT, expected decode of each instruction it holds: name and (when given) immediates]
  type E = [string, Instr['imm']?];
  const v = (...b: number[]) => Uint8Array.from(b);
  const parts: Array<[string, E[]]> = [
    ['block end', [['block', [-0x40]], ['end', []]]],
    ['block (result i32) i32.const 1 end drop', [['block', [-0x7f]], ['i32.const', [1]], ['end'], ['drop']]],
    ['i32.const 2 block (type $bt) end drop', [['i32.const', [2]], ['block', [0]], ['end'], ['drop']]],
    ['loop end', [['loop', [-0x40]], ['end']]],
    ['local.get $p if nop else nop end', [['local.get', [0]], ['if', [-0x40]], ['nop'], ['else'], ['nop'], ['end']]],
    ['block br 0 end', [['block'], ['br', [0]], ['end']]],
    ['block local.get $p br_if 0 end', [['block'], ['local.get'], ['br_if', [0]], ['end']]],
    ['block block local.get $p br_table 0 1 1 end end', [['block'], ['block'], ['local.get'], ['br_table', [[0, 1], 1]], ['end'], ['end']]],
    ['call $f', [['call', [1]]]],
    ['i32.const 0 call_indirect $t (type $v)', [['i32.const', [0]], ['call_indirect', [1, 0]]]],
    ['i32.const -3 local.tee $p local.set $p', [['i32.const', [-3]], ['local.tee', [0]], ['local.set', [0]]]],
    ['global.get $gi global.set $g2', [['global.get', [0]], ['global.set', [1]]]],
    ['i32.const 0 table.get $t drop', [['i32.const'], ['table.get', [0]], ['drop']]],
    ['i32.const 0 ref.null func table.set $t', [['i32.const'], ['ref.null', [0x70]], ['table.set', [0]]]],
    ['i32.const 0 i32.load offset=16 align=2 drop', [['i32.const'], ['i32.load', [1, 16, 0]], ['drop']]],
    ['i32.const 0 i64.const -5 i64.store offset=4294967295', [['i32.const'], ['i64.const', [-5n]], ['i64.store', [3, 4294967295, 0]]]],
    ['memory.size drop i32.const 0 memory.grow drop', [['memory.size', [0]], ['drop'], ['i32.const'], ['memory.grow', [0]], ['drop']]],
    ['i64.const 0x7fffffffffffffff drop', [['i64.const', [2n ** 63n - 1n]], ['drop']]],
    ['f32.const 1.5 drop f64.const -2 drop', [['f32.const', [v(0, 0, 0xc0, 0x3f)]], ['drop'], ['f64.const', [v(0, 0, 0, 0, 0, 0, 0, 0xc0)]], ['drop']]],
    ['i32.const 1 i32.const 2 local.get $p select drop', [['i32.const'], ['i32.const'], ['local.get'], ['select', []], ['drop']]],
    ['i32.const 1 i32.const 2 local.get $p select (result i32) drop', [['i32.const'], ['i32.const'], ['local.get'], ['select', [[0x7f]]], ['drop']]],
    ['ref.null extern ref.is_null drop ref.func $f drop', [['ref.null', [0x6f]], ['ref.is_null'], ['drop'], ['ref.func', [1]], ['drop']]],
    ['f32.const 1 i32.trunc_sat_f32_s drop', [['f32.const'], ['i32.trunc_sat_f32_s', []], ['drop']]],
    ['i32.const 0 i32.const 0 i32.const 1 memory.init $d data.drop $d', [['i32.const'], ['i32.const'], ['i32.const'], ['memory.init', [0, 0]], ['data.drop', [0]]]],
    ['i32.const 0 i32.const 0 i32.const 0 memory.copy', [['i32.const'], ['i32.const'], ['i32.const'], ['memory.copy', [0, 0]]]],
    ['i32.const 0 i32.const 0 i32.const 0 memory.fill', [['i32.const'], ['i32.const'], ['i32.const'], ['memory.fill', [0]]]],
    ['i32.const 0 i32.const 0 i32.const 0 table.init $t2 $e elem.drop $e', [['i32.const'], ['i32.const'], ['i32.const'], ['table.init', [0, 1]], ['elem.drop', [0]]]],
    ['i32.const 0 i32.const 0 i32.const 0 table.copy $t2 $t', [['i32.const'], ['i32.const'], ['i32.const'], ['table.copy', [1, 0]]]],
    ['ref.null func i32.const 0 table.grow $t2 drop table.size $t2 drop', [['ref.null'], ['i32.const'], ['table.grow', [1]], ['drop'], ['table.size', [1]], ['drop']]],
    ['i32.const 0 ref.null func i32.const 0 table.fill $t', [['i32.const'], ['ref.null'], ['i32.const'], ['table.fill', [0]]]],
    ['v128.const i32x4 1 2 3 4 local.set $x', [['v128.const', [v(1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0)]], ['local.set', [2]]]],
    [
      'local.get $x local.get $x i8x16.shuffle 15 14 13 12 11 10 9 8 7 6 5 4 3 2 1 0 drop',
      [['local.get'], ['local.get'], ['i8x16.shuffle', [v(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)]], ['drop']],
    ],
    ['local.get $x i32x4.extract_lane 2 drop', [['local.get'], ['i32x4.extract_lane', [2]], ['drop']]],
    ['i32.const 0 local.get $x v128.load8_lane offset=7 3 drop', [['i32.const'], ['local.get'], ['v128.load8_lane', [0, 7, 0, 3]], ['drop']]],
    ['i32.const 0 v128.load offset=32 drop', [['i32.const'], ['v128.load', [4, 32, 0]], ['drop']]],
    ['local.get $x local.get $x i32x4.add drop', [['local.get'], ['local.get'], ['i32x4.add', []], ['drop']]],
    ['atomic.fence', [['atomic.fence', [0]]]],
    ['i32.const 0 i32.atomic.load offset=4 drop', [['i32.const'], ['i32.atomic.load', [2, 4, 0]], ['drop']]],
    ['i32.const 0 i64.const 1 i64.const 2 i64.atomic.rmw32.cmpxchg_u drop', [['i32.const'], ['i64.const'], ['i64.const'], ['i64.atomic.rmw32.cmpxchg_u', [2, 0, 0]], ['drop']]],
    ['i32.const 0 i32.const 1 memory.atomic.notify drop', [['i32.const'], ['i32.const'], ['memory.atomic.notify', [2, 0, 0]], ['drop']]],
    ['local.get $p', [['local.get', [0]]]],
  ];
  const src = `(module
    (type $bt (func (param i32) (result i32)))
    (type $v (func))
    (import "env" "g" (global $gi (mut i32)))
    (memory 1 1 shared)
    (table $t 2 funcref)
    (table $t2 2 funcref)
    (global $g2 (mut i32) (i32.const 0))
    (data $d "abc")
    (elem $e func $f)
    (elem declare func $f)
    (func (export "main") (param $p i32) (result i32) (local $l i64) (local $x v128)
      ${parts.map(([w]) => w).join('\n      ')})
    (func $f (type $v)))`;
  const b = await wat(src);
  const m = readModule(b);
  const body = m.code[0]!;
  const got = decodeInstructions(b, body.codeStart, body.body.end);
  const expected: E[] = [...parts.flatMap(([, e]) => e), ['end', []]];
  t.same(got.map(instrName), expected.map(([n]) => n), `${got.length} instructions, names in order`);
  let checkedImm = 0;
  expected.forEach(([name, imm], i) => {
    if (imm === undefined || !got[i]) return;
    checkedImm++;
    t.same(got[i]!.imm, imm, `${i}: ${name} immediates`);
  });
  t.ok(checkedImm > 50, `${checkedImm} immediates checked`);
  // offsets: strictly increasing, from the body's first instruction to its final end
  t.equal(got[0]!.at, body.codeStart);
  t.ok(got.every((x, i) => i === 0 || x.at > got[i - 1]!.at), 'offsets increase');
  t.equal(b[got.at(-1)!.at], 0x0b);

  // raw immediates wabt does not write: multi-memory memarg, a padded index, s33 block type index
  t.same(decodeInstructions(bytes(0x28, 0x42, 0x01, 0x10), 0, 4)[0]!.imm, [2, 16, 1], 'memarg with a memory index (bit 6)');
  t.same(decodeInstructions(bytes(0x20, 0x85, 0x80, 0x80, 0x80, 0x00), 0, 6)[0]!.imm, [5], 'padded local index');
  t.same(decodeInstructions(bytes(0x02, 0x81, 0x01), 0, 3)[0]!.imm, [129], 'block type index 129 (s33)');
  t.same(decodeInstructions(bytes(0x0e, 0x00, 0x07), 0, 3)[0]!.imm, [[], 7], 'br_table with only a default');

  throwsFormat(t, () => decodeInstructions(bytes(0x06), 0, 1), /unknown opcode 0x6 at byte 0/, 'unknown single-byte opcode');
  throwsFormat(t, () => decodeInstructions(bytes(0x01, 0xfc, 0x12), 0, 3), /unknown opcode 0xfc 18 at byte 1/, 'unknown 0xFC');
  throwsFormat(t, () => decodeInstructions(bytes(0xfd, 0x9a, 0x01), 0, 3), /unknown opcode 0xfd 154/, 'a gap of 0xFD');
  throwsFormat(t, () => decodeInstructions(bytes(0xfd, 0x94, 0x02), 0, 3), /unknown opcode 0xfd 276/, 'past relaxed SIMD');
  throwsFormat(t, () => decodeInstructions(bytes(0xfe, 0x4f), 0, 2), /unknown opcode 0xfe 79/, 'past the atomics');
  throwsFormat(t, () => decodeInstructions(bytes(0x41), 0, 1), /unexpected end/, 'i32.const without its immediate');
  throwsFormat(t, () => decodeInstructions(bytes(0xfd, 0x0c, 1, 2, 3), 0, 5), /unexpected end/, 'v128.const cut short');
  throwsFormat(t, () => decodeInstructions(bytes(0x0e, 0x02, 0x00), 0, 3), /unexpected end/, 'br_table cut short');
});
