/**
 * The one table of WebAssembly operators: name and immediate layout per opcode. Every pass (reader,
 * rewriter, policy, fuel) decodes instructions through it instead of a switch of its own.
 * Covers WebAssembly 2.0 (with the 0xFC and 0xFD prefixes, relaxed SIMD), tail calls, and the
 * threads proposal's 0xFE prefix (so the determinism policy can name and refuse atomics).
 */

/** Immediate layouts. */
export const Imm = {
  none: 0,
  blockType: 1,
  label: 2,
  brTable: 3,
  func: 4,
  callIndirect: 5, // type index, table index
  local: 6,
  global: 7,
  table: 8,
  memArg: 9, // align (bit 6: a memory index follows), offset
  mem: 10, // one memory index
  i32: 11,
  i64: 12,
  f32: 13,
  f64: 14,
  selectT: 15, // vec(valtype)
  refNull: 16, // heap type
  v128: 17, // 16 raw bytes (v128.const, i8x16.shuffle)
  lane: 18, // one lane byte
  memArgLane: 19,
  memInit: 20, // data index, memory index
  data: 21,
  memCopy: 22, // memory index, memory index
  tableInit: 23, // element index, table index
  elem: 24,
  tableCopy: 25, // table index, table index
  zeroByte: 26, // atomic.fence's reserved byte
} as const;

export type ImmKind = (typeof Imm)[keyof typeof Imm];

export const INVALID = 255;

export interface OpTable {
  readonly imm: Uint8Array;
  readonly names: string[];
}

function table(size: number, defs: ReadonlyArray<readonly [number, string, number?]>): OpTable {
  const imm = new Uint8Array(size).fill(INVALID);
  const names: string[] = new Array<string>(size).fill('');
  for (const [code, name, kind] of defs) {
    imm[code] = kind ?? Imm.none;
    names[code] = name;
  }
  return { imm, names };
}

/** Expands `prefix` + the names in order from `first` (all without immediates). */
function run(first: number, prefix: string, names: string): Array<[number, string]> {
  return names
    .trim()
    .split(/\s+/)
    .map((n, i) => [first + i, n === '-' ? '' : prefix + n] as [number, string])
    .filter(([, n]) => n !== '');
}

const I = Imm;

export const SINGLE: OpTable = table(256, [
  [0x00, 'unreachable'],
  [0x01, 'nop'],
  [0x02, 'block', I.blockType],
  [0x03, 'loop', I.blockType],
  [0x04, 'if', I.blockType],
  [0x05, 'else'],
  [0x0b, 'end'],
  [0x0c, 'br', I.label],
  [0x0d, 'br_if', I.label],
  [0x0e, 'br_table', I.brTable],
  [0x0f, 'return'],
  [0x10, 'call', I.func],
  [0x11, 'call_indirect', I.callIndirect],
  [0x12, 'return_call', I.func],
  [0x13, 'return_call_indirect', I.callIndirect],
  [0x1a, 'drop'],
  [0x1b, 'select'],
  [0x1c, 'select', I.selectT],
  [0x20, 'local.get', I.local],
  [0x21, 'local.set', I.local],
  [0x22, 'local.tee', I.local],
  [0x23, 'global.get', I.global],
  [0x24, 'global.set', I.global],
  [0x25, 'table.get', I.table],
  [0x26, 'table.set', I.table],
  ...(
    [
      'i32.load', 'i64.load', 'f32.load', 'f64.load', 'i32.load8_s', 'i32.load8_u', 'i32.load16_s',
      'i32.load16_u', 'i64.load8_s', 'i64.load8_u', 'i64.load16_s', 'i64.load16_u', 'i64.load32_s',
      'i64.load32_u', 'i32.store', 'i64.store', 'f32.store', 'f64.store', 'i32.store8', 'i32.store16',
      'i64.store8', 'i64.store16', 'i64.store32',
    ] as const
  ).map((n, i) => [0x28 + i, n, I.memArg] as const),
  [0x3f, 'memory.size', I.mem],
  [0x40, 'memory.grow', I.mem],
  [0x41, 'i32.const', I.i32],
  [0x42, 'i64.const', I.i64],
  [0x43, 'f32.const', I.f32],
  [0x44, 'f64.const', I.f64],
  ...run(0x45, 'i32.', 'eqz eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u'),
  ...run(0x50, 'i64.', 'eqz eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u'),
  ...run(0x5b, 'f32.', 'eq ne lt gt le ge'),
  ...run(0x61, 'f64.', 'eq ne lt gt le ge'),
  ...run(0x67, 'i32.', 'clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr'),
  ...run(0x79, 'i64.', 'clz ctz popcnt add sub mul div_s div_u rem_s rem_u and or xor shl shr_s shr_u rotl rotr'),
  ...run(0x8b, 'f32.', 'abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign'),
  ...run(0x99, 'f64.', 'abs neg ceil floor trunc nearest sqrt add sub mul div min max copysign'),
  ...run(
    0xa7,
    '',
    `i32.wrap_i64 i32.trunc_f32_s i32.trunc_f32_u i32.trunc_f64_s i32.trunc_f64_u i64.extend_i32_s
     i64.extend_i32_u i64.trunc_f32_s i64.trunc_f32_u i64.trunc_f64_s i64.trunc_f64_u f32.convert_i32_s
     f32.convert_i32_u f32.convert_i64_s f32.convert_i64_u f32.demote_f64 f64.convert_i32_s
     f64.convert_i32_u f64.convert_i64_s f64.convert_i64_u f64.promote_f32 i32.reinterpret_f32
     i64.reinterpret_f64 f32.reinterpret_i32 f64.reinterpret_i64 i32.extend8_s i32.extend16_s
     i64.extend8_s i64.extend16_s i64.extend32_s`,
  ),
  [0xd0, 'ref.null', I.refNull],
  [0xd1, 'ref.is_null'],
  [0xd2, 'ref.func', I.func],
]);

export const PREFIX_FC = 0xfc;
export const PREFIX_FD = 0xfd;
export const PREFIX_FE = 0xfe;

export const FC: OpTable = table(18, [
  ...run(
    0,
    '',
    `i32.trunc_sat_f32_s i32.trunc_sat_f32_u i32.trunc_sat_f64_s i32.trunc_sat_f64_u
     i64.trunc_sat_f32_s i64.trunc_sat_f32_u i64.trunc_sat_f64_s i64.trunc_sat_f64_u`,
  ),
  [8, 'memory.init', I.memInit],
  [9, 'data.drop', I.data],
  [10, 'memory.copy', I.memCopy],
  [11, 'memory.fill', I.mem],
  [12, 'table.init', I.tableInit],
  [13, 'elem.drop', I.elem],
  [14, 'table.copy', I.tableCopy],
  [15, 'table.grow', I.table],
  [16, 'table.size', I.table],
  [17, 'table.fill', I.table],
]);

/** Sub-opcodes of 0xFC that touch memory or table contents per byte or element (extra fuel). */
export const FC_BULK = new Set([8, 10, 11, 12, 14, 15, 17]);

export const FD: OpTable = table(0x114, [
  ...(
    [
      'v128.load', 'v128.load8x8_s', 'v128.load8x8_u', 'v128.load16x4_s', 'v128.load16x4_u',
      'v128.load32x2_s', 'v128.load32x2_u', 'v128.load8_splat', 'v128.load16_splat',
      'v128.load32_splat', 'v128.load64_splat', 'v128.store',
    ] as const
  ).map((n, i) => [i, n, I.memArg] as const),
  [0x0c, 'v128.const', I.v128],
  [0x0d, 'i8x16.shuffle', I.v128],
  ...run(0x0e, '', 'i8x16.swizzle i8x16.splat i16x8.splat i32x4.splat i64x2.splat f32x4.splat f64x2.splat'),
  ...(
    [
      'i8x16.extract_lane_s', 'i8x16.extract_lane_u', 'i8x16.replace_lane', 'i16x8.extract_lane_s',
      'i16x8.extract_lane_u', 'i16x8.replace_lane', 'i32x4.extract_lane', 'i32x4.replace_lane',
      'i64x2.extract_lane', 'i64x2.replace_lane', 'f32x4.extract_lane', 'f32x4.replace_lane',
      'f64x2.extract_lane', 'f64x2.replace_lane',
    ] as const
  ).map((n, i) => [0x15 + i, n, I.lane] as const),
  ...run(0x23, 'i8x16.', 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u'),
  ...run(0x2d, 'i16x8.', 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u'),
  ...run(0x37, 'i32x4.', 'eq ne lt_s lt_u gt_s gt_u le_s le_u ge_s ge_u'),
  ...run(0x41, 'f32x4.', 'eq ne lt gt le ge'),
  ...run(0x47, 'f64x2.', 'eq ne lt gt le ge'),
  ...run(0x4d, 'v128.', 'not and andnot or xor bitselect any_true'),
  ...(
    [
      'v128.load8_lane', 'v128.load16_lane', 'v128.load32_lane', 'v128.load64_lane',
      'v128.store8_lane', 'v128.store16_lane', 'v128.store32_lane', 'v128.store64_lane',
    ] as const
  ).map((n, i) => [0x54 + i, n, I.memArgLane] as const),
  [0x5c, 'v128.load32_zero', I.memArg],
  [0x5d, 'v128.load64_zero', I.memArg],
  ...run(0x5e, '', 'f32x4.demote_f64x2_zero f64x2.promote_low_f32x4'),
  ...run(
    0x60,
    '',
    `i8x16.abs i8x16.neg i8x16.popcnt i8x16.all_true i8x16.bitmask i8x16.narrow_i16x8_s
     i8x16.narrow_i16x8_u f32x4.ceil f32x4.floor f32x4.trunc f32x4.nearest i8x16.shl i8x16.shr_s
     i8x16.shr_u i8x16.add i8x16.add_sat_s i8x16.add_sat_u i8x16.sub i8x16.sub_sat_s i8x16.sub_sat_u
     f64x2.ceil f64x2.floor i8x16.min_s i8x16.min_u i8x16.max_s i8x16.max_u f64x2.trunc i8x16.avgr_u
     i16x8.extadd_pairwise_i8x16_s i16x8.extadd_pairwise_i8x16_u i32x4.extadd_pairwise_i16x8_s
     i32x4.extadd_pairwise_i16x8_u
     i16x8.abs i16x8.neg i16x8.q15mulr_sat_s i16x8.all_true i16x8.bitmask i16x8.narrow_i32x4_s
     i16x8.narrow_i32x4_u i16x8.extend_low_i8x16_s i16x8.extend_high_i8x16_s i16x8.extend_low_i8x16_u
     i16x8.extend_high_i8x16_u i16x8.shl i16x8.shr_s i16x8.shr_u i16x8.add i16x8.add_sat_s
     i16x8.add_sat_u i16x8.sub i16x8.sub_sat_s i16x8.sub_sat_u f64x2.nearest i16x8.mul i16x8.min_s
     i16x8.min_u i16x8.max_s i16x8.max_u - i16x8.avgr_u i16x8.extmul_low_i8x16_s
     i16x8.extmul_high_i8x16_s i16x8.extmul_low_i8x16_u i16x8.extmul_high_i8x16_u
     i32x4.abs i32x4.neg - i32x4.all_true i32x4.bitmask - - i32x4.extend_low_i16x8_s
     i32x4.extend_high_i16x8_s i32x4.extend_low_i16x8_u i32x4.extend_high_i16x8_u i32x4.shl
     i32x4.shr_s i32x4.shr_u i32x4.add - - i32x4.sub - - - i32x4.mul i32x4.min_s i32x4.min_u
     i32x4.max_s i32x4.max_u i32x4.dot_i16x8_s - i32x4.extmul_low_i16x8_s i32x4.extmul_high_i16x8_s
     i32x4.extmul_low_i16x8_u i32x4.extmul_high_i16x8_u
     i64x2.abs i64x2.neg - i64x2.all_true i64x2.bitmask - - i64x2.extend_low_i32x4_s
     i64x2.extend_high_i32x4_s i64x2.extend_low_i32x4_u i64x2.extend_high_i32x4_u i64x2.shl
     i64x2.shr_s i64x2.shr_u i64x2.add - - i64x2.sub - - - i64x2.mul i64x2.eq i64x2.ne i64x2.lt_s
     i64x2.gt_s i64x2.le_s i64x2.ge_s i64x2.extmul_low_i32x4_s i64x2.extmul_high_i32x4_s
     i64x2.extmul_low_i32x4_u i64x2.extmul_high_i32x4_u
     f32x4.abs f32x4.neg - f32x4.sqrt f32x4.add f32x4.sub f32x4.mul f32x4.div f32x4.min f32x4.max
     f32x4.pmin f32x4.pmax f64x2.abs f64x2.neg - f64x2.sqrt f64x2.add f64x2.sub f64x2.mul f64x2.div
     f64x2.min f64x2.max f64x2.pmin f64x2.pmax i32x4.trunc_sat_f32x4_s i32x4.trunc_sat_f32x4_u
     f32x4.convert_i32x4_s f32x4.convert_i32x4_u i32x4.trunc_sat_f64x2_s_zero
     i32x4.trunc_sat_f64x2_u_zero f64x2.convert_low_i32x4_s f64x2.convert_low_i32x4_u`,
  ),
  // relaxed SIMD: results may differ between machines, so the determinism policy refuses them
  ...run(
    0x100,
    '',
    `i8x16.relaxed_swizzle i32x4.relaxed_trunc_f32x4_s i32x4.relaxed_trunc_f32x4_u
     i32x4.relaxed_trunc_f64x2_s_zero i32x4.relaxed_trunc_f64x2_u_zero f32x4.relaxed_madd
     f32x4.relaxed_nmadd f64x2.relaxed_madd f64x2.relaxed_nmadd i8x16.relaxed_laneselect
     i16x8.relaxed_laneselect i32x4.relaxed_laneselect i64x2.relaxed_laneselect f32x4.relaxed_min
     f32x4.relaxed_max f64x2.relaxed_min f64x2.relaxed_max i16x8.relaxed_q15mulr_s
     i16x8.relaxed_dot_i8x16_i7x16_s i32x4.relaxed_dot_i8x16_i7x16_add_s`,
  ),
]);

export const FE: OpTable = table(0x4f, [
  [0x00, 'memory.atomic.notify', I.memArg],
  [0x01, 'memory.atomic.wait32', I.memArg],
  [0x02, 'memory.atomic.wait64', I.memArg],
  [0x03, 'atomic.fence', I.zeroByte],
  ...(
    `i32.atomic.load i64.atomic.load i32.atomic.load8_u i32.atomic.load16_u i64.atomic.load8_u
     i64.atomic.load16_u i64.atomic.load32_u i32.atomic.store i64.atomic.store i32.atomic.store8
     i32.atomic.store16 i64.atomic.store8 i64.atomic.store16 i64.atomic.store32`
      .trim()
      .split(/\s+/)
      .map((n, i) => [0x10 + i, n, I.memArg] as const)
  ),
  ...['add', 'sub', 'and', 'or', 'xor', 'xchg', 'cmpxchg'].flatMap((rmw, k) =>
    ['i32.atomic.rmw', 'i64.atomic.rmw', 'i32.atomic.rmw8', 'i32.atomic.rmw16', 'i64.atomic.rmw8',
      'i64.atomic.rmw16', 'i64.atomic.rmw32'].map(
      (p, i) => [0x1e + k * 7 + i, `${p}.${rmw}${i >= 2 ? '_u' : ''}`, I.memArg] as const,
    ),
  ),
]);

/** The table for a prefix byte, or undefined when `op` is a single-byte opcode. */
export function prefixTable(op: number): OpTable | undefined {
  return op === PREFIX_FC ? FC : op === PREFIX_FD ? FD : op === PREFIX_FE ? FE : undefined;
}

/** The printable name of an operator (prefix byte plus sub-opcode when prefixed). */
export function opName(op: number, sub = -1): string {
  const t = prefixTable(op);
  if (!t) return SINGLE.names[op] || `0x${op.toString(16)}`;
  return t.names[sub] || `0x${op.toString(16)} ${sub}`;
}

/**
 * wasmtime's cost of one operator (Cranelift `fuel_before_op`): structural operators that emit
 * no code are free, every other operator costs 1.
 */
export function baseCost(op: number): number {
  switch (op) {
    case 0x00: // unreachable
    case 0x01: // nop
    case 0x02: // block
    case 0x03: // loop
    case 0x05: // else
    case 0x0b: // end
    case 0x0f: // return
    case 0x1a: // drop
      return 0;
    default:
      return 1;
  }
}
