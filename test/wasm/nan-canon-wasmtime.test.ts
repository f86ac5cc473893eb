/**
 * NaN canonicalization against wasmtime's own (`cranelift_nan_canonicalization`, through the wasmtime
 * PyPI package, test/support/nan_canon_wasmtime.py): every result bit for bit, scalar f32/f64 and SIMD
 * f32x4/f64x2, NaN and non-NaN operands of every kind. Skipped without the oracle (see
 * test/support/wasmtime-diff.ts, `findOracle`: `.wasmtime-venv` or WASMTIME_PYTHON).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { instrument } from '../../src/wasm/instrument.js';
import { findOracle } from '../support/wasmtime-diff.js';
import { wat } from '../support/wat.js';

const oracle = findOracle();
if ('skip' in oracle) {
  t.test('NaN canonicalisation against wasmtime', { skip: oracle.skip }, () => {});
} else {
  const BIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'copysign'];
  const UN = ['sqrt', 'ceil', 'floor', 'trunc', 'nearest', 'abs', 'neg'];
  const VBIN = ['add', 'sub', 'mul', 'div', 'min', 'max', 'pmin', 'pmax'];
  const src = `(module (memory (export "mem") 1)
    ${BIN.map((o) => `(func (export "f32.${o}") (param i32 i32) (result i32) local.get 0 f32.reinterpret_i32 local.get 1 f32.reinterpret_i32 f32.${o} i32.reinterpret_f32)
    (func (export "f64.${o}") (param i64 i64) (result i64) local.get 0 f64.reinterpret_i64 local.get 1 f64.reinterpret_i64 f64.${o} i64.reinterpret_f64)`).join('\n')}
    ${UN.map((o) => `(func (export "f32.${o}") (param i32) (result i32) local.get 0 f32.reinterpret_i32 f32.${o} i32.reinterpret_f32)
    (func (export "f64.${o}") (param i64) (result i64) local.get 0 f64.reinterpret_i64 f64.${o} i64.reinterpret_f64)`).join('\n')}
    (func (export "f32.demote_f64") (param i64) (result i32) local.get 0 f64.reinterpret_i64 f32.demote_f64 i32.reinterpret_f32)
    (func (export "f64.promote_f32") (param i32) (result i64) local.get 0 f32.reinterpret_i32 f64.promote_f32 i64.reinterpret_f64)
    ${['f32x4', 'f64x2']
      .map((ty) =>
        [
          ...VBIN.map((o) => `(func (export "${ty}.${o}") (v128.store (i32.const 0) (${ty}.${o} (v128.load (i32.const 16)) (v128.load (i32.const 32)))))`),
          ...UN.map((o) => `(func (export "${ty}.${o}") (v128.store (i32.const 0) (${ty}.${o} (v128.load (i32.const 16)))))`),
        ].join('\n'),
      )
      .join('\n')}
    (func (export "f32x4.demote_f64x2_zero") (v128.store (i32.const 0) (f32x4.demote_f64x2_zero (v128.load (i32.const 16)))))
    (func (export "f64x2.promote_low_f32x4") (v128.store (i32.const 0) (f64x2.promote_low_f32x4 (v128.load (i32.const 16))))))`;

  const F32 = [0, 0x80000000, 0x3f800000, 0xbf800000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fa00001, 0xffa00001, 0x7f800001, 0x7fffffff, 1, 0x7f7fffff];
  const F64 = [
    0n, 0x8000000000000000n, 0x3ff0000000000000n, 0xbff0000000000000n, 0x7ff0000000000000n, 0xfff0000000000000n, 0x7ff8000000000000n,
    0xfff8000000000000n, 0x7ff4000000000001n, 0xfff4000000000001n, 0x7ff0000000000001n, 0x7fffffffffffffffn, 1n, 0x7fefffffffffffffn,
  ];
  const le32 = (...l: number[]) => Buffer.from(Uint32Array.from(l).buffer).toString('hex');
  const le64 = (...l: bigint[]) => Buffer.from(BigUint64Array.from(l).buffer).toString('hex');
  type Call = { field: string; args: Array<number | bigint>; mem?: Array<[number, string]>; read?: [number, number] };
  const calls: Call[] = [];
  for (const o of BIN) {
    for (const x of F32) for (const y of F32) calls.push({ field: `f32.${o}`, args: [x | 0, y | 0] });
    for (const x of F64) for (const y of F64) calls.push({ field: `f64.${o}`, args: [BigInt.asIntN(64, x), BigInt.asIntN(64, y)] });
  }
  for (const o of UN) {
    for (const x of F32) calls.push({ field: `f32.${o}`, args: [x | 0] });
    for (const x of F64) calls.push({ field: `f64.${o}`, args: [BigInt.asIntN(64, x)] });
  }
  for (const x of F64) calls.push({ field: 'f32.demote_f64', args: [BigInt.asIntN(64, x)] });
  for (const x of F32) calls.push({ field: 'f64.promote_f32', args: [x | 0] });
  const n32 = F32.length;
  const n64 = F64.length;
  for (const o of [...VBIN, ...UN]) {
    for (let i = 0; i < n32; i++) {
      const a = le32(F32[i]!, F32[(i + 1) % n32]!, F32[(i + 2) % n32]!, F32[(i + 3) % n32]!);
      const b = le32(F32[(i * 3) % n32]!, F32[(i + 5) % n32]!, F32[(i + 7) % n32]!, F32[(i * 5 + 1) % n32]!);
      calls.push({ field: `f32x4.${o}`, args: [], mem: [[16, a], [32, b]], read: [0, 16] });
    }
    for (let i = 0; i < n64; i++) {
      calls.push({ field: `f64x2.${o}`, args: [], mem: [[16, le64(F64[i]!, F64[(i + 3) % n64]!)], [32, le64(F64[(i * 3) % n64]!, F64[(i + 5) % n64]!)]], read: [0, 16] });
    }
  }
  for (let i = 0; i < n64; i++) calls.push({ field: 'f32x4.demote_f64x2_zero', args: [], mem: [[16, le64(F64[i]!, F64[(i + 5) % n64]!)]], read: [0, 16] });
  for (let i = 0; i < n32; i++) calls.push({ field: 'f64x2.promote_low_f32x4', args: [], mem: [[16, le32(F32[i]!, F32[(i + 5) % n32]!, 0, 0)]], read: [0, 16] });

  t.test(`canonicalized results equal wasmtime ${oracle.version} with cranelift_nan_canonicalization`, async (t) => {
    const bytes = await wat(src);
    const script = fileURLToPath(new URL('../support/nan_canon_wasmtime.py', import.meta.url));
    // integers (i64s too) as JSON numbers, which Python reads exactly
    const json = JSON.stringify({ wasm: Buffer.from(bytes).toString('base64'), calls: calls.map((c) => ({ ...c, args: c.args.map((a) => `@${a}@`) })) }).replace(/"@(-?\d+)@"/g, '$1');
    const r = spawnSync(oracle.python, [script], { input: json, encoding: 'utf8', maxBuffer: 64 << 20 });
    t.equal(r.status, 0, `the oracle ran${r.stderr ? `: ${r.stderr.slice(-500)}` : ''}`);
    const theirs = (JSON.parse(r.stdout) as { results: string[] }).results;
    const ours = new WebAssembly.Instance(new WebAssembly.Module(instrument(bytes, { standalone: { fuel: 1n << 50n, stackBytes: 1 << 20 }, canonicalizeNaN: true }) as BufferSource))
      .exports as Record<string, any>;
    const mem = new Uint8Array((ours.mem as WebAssembly.Memory).buffer);
    let diff = 0;
    calls.forEach((c, i) => {
      for (const [off, hex] of c.mem ?? []) mem.set(Buffer.from(hex, 'hex'), off);
      const v = ours[c.field](...c.args);
      const got = c.read ? Buffer.from(mem.subarray(c.read[0], c.read[0] + c.read[1])).toString('hex') : typeof v === 'bigint' ? BigInt.asUintN(64, v).toString() : String(v >>> 0);
      if (got !== theirs[i] && diff++ < 10) t.fail(`${c.field}(${c.args.join(', ')}${c.mem ? ` ${c.mem.map((m) => m[1]).join(' ')}` : ''}): ours ${got}, wasmtime ${theirs[i]}`);
    });
    t.equal(diff, 0, `all ${calls.length} results bit-identical`);
  });
}
