/** Decoding of instruction streams through the opcode table (no per-pass switch on opcodes). */
import { ByteReader } from './leb.js';
import { Imm, INVALID, SINGLE, opName, prefixTable } from './opcodes.js';

/** One decoded instruction: opcode, sub-opcode for prefixed ones (else -1), immediates by layout. */
export interface Instr {
  op: number;
  sub: number;
  /** Offset of the opcode byte in the module bytes. */
  at: number;
  /** Numbers for index/label/lane immediates, bigint for i64.const, bytes for v128 and floats. */
  imm: Array<number | bigint | Uint8Array | number[]>;
}

/** Reads an opcode (and sub-opcode) at `r.pos`; returns the immediate layout. */
export function readOpcode(r: ByteReader): { op: number; sub: number; kind: number } {
  const at = r.pos;
  const op = r.byte();
  const t = prefixTable(op);
  if (!t) {
    const kind = SINGLE.imm[op]!;
    if (kind === INVALID) r.fail(`unknown opcode 0x${op.toString(16)}`, at);
    return { op, sub: -1, kind };
  }
  const sub = r.u32();
  const kind = sub < t.imm.length ? t.imm[sub]! : INVALID;
  if (kind === INVALID) r.fail(`unknown opcode 0x${op.toString(16)} ${sub}`, at);
  return { op, sub, kind };
}

/** Advances past the immediates of layout `kind`. */
export function skipImmediates(r: ByteReader, kind: number): void {
  switch (kind) {
    case Imm.none:
      return;
    case Imm.blockType: {
      const b = r.bytes[r.pos]!;
      if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) r.pos++;
      else r.skipLeb(5); // s33 type index
      return;
    }
    case Imm.label:
    case Imm.func:
    case Imm.local:
    case Imm.global:
    case Imm.table:
    case Imm.mem:
    case Imm.data:
    case Imm.elem:
      r.skipLeb(5);
      return;
    case Imm.brTable: {
      const n = r.u32();
      for (let i = 0; i <= n; i++) r.skipLeb(5);
      return;
    }
    case Imm.callIndirect:
    case Imm.memInit:
    case Imm.memCopy:
    case Imm.tableInit:
    case Imm.tableCopy:
      r.skipLeb(5);
      r.skipLeb(5);
      return;
    case Imm.memArg:
      skipMemArg(r);
      return;
    case Imm.memArgLane:
      skipMemArg(r);
      r.skip(1);
      return;
    case Imm.i32:
      r.skipLeb(5);
      return;
    case Imm.i64:
      r.skipLeb(10);
      return;
    case Imm.f32:
      r.skip(4);
      return;
    case Imm.f64:
      r.skip(8);
      return;
    case Imm.selectT: {
      const n = r.u32();
      r.skip(n);
      return;
    }
    case Imm.refNull:
      r.skip(1);
      return;
    case Imm.v128:
      r.skip(16);
      return;
    case Imm.lane:
    case Imm.zeroByte:
      r.skip(1);
      return;
    default:
      r.fail(`bad immediate layout ${kind}`);
  }
}

function skipMemArg(r: ByteReader): void {
  const align = r.u32();
  if (align & 0x40) r.skipLeb(5); // multi-memory: memory index
  r.skipLeb(10); // offset (u64 under memory64)
}

/** Decodes the immediates of layout `kind` (slow path: tests, policy messages, tools). */
export function readImmediates(r: ByteReader, kind: number): Instr['imm'] {
  switch (kind) {
    case Imm.none:
      return [];
    case Imm.blockType: {
      const b = r.bytes[r.pos]!;
      if (b === 0x40 || (b >= 0x6f && b <= 0x7f)) return [-(r.byte() as number)]; // negative: a value type code
      return [r.s32()];
    }
    case Imm.brTable: {
      const n = r.u32();
      const labels: number[] = [];
      for (let i = 0; i < n; i++) labels.push(r.u32());
      return [labels, r.u32()];
    }
    case Imm.i32:
      return [r.s32()];
    case Imm.i64:
      return [r.s64()];
    case Imm.f32:
      return [r.take(4)];
    case Imm.f64:
      return [r.take(8)];
    case Imm.v128:
      return [r.take(16)];
    case Imm.selectT: {
      const n = r.u32();
      return [Array.from(r.take(n))];
    }
    case Imm.refNull:
    case Imm.lane:
    case Imm.zeroByte:
      return [r.byte()];
    case Imm.memArg:
    case Imm.memArgLane: {
      const align = r.u32();
      const mem = align & 0x40 ? r.u32() : 0;
      const offset = r.s64() & 0xffffffffffffffffn;
      const out: Instr['imm'] = [align & ~0x40, Number(offset), mem];
      if (kind === Imm.memArgLane) out.push(r.byte());
      return out;
    }
    case Imm.callIndirect:
    case Imm.memInit:
    case Imm.memCopy:
    case Imm.tableInit:
    case Imm.tableCopy:
      return [r.u32(), r.u32()];
    default:
      return [r.u32()];
  }
}

/** Decodes every instruction of `bytes[start, end)` (a function body's code or a constant expression). */
export function decodeInstructions(bytes: Uint8Array, start: number, end: number): Instr[] {
  const r = new ByteReader(bytes, start, end);
  const out: Instr[] = [];
  while (r.pos < end) {
    const at = r.pos;
    const { op, sub, kind } = readOpcode(r);
    out.push({ op, sub, at, imm: readImmediates(r, kind) });
  }
  return out;
}

export function instrName(i: Pick<Instr, 'op' | 'sub'>): string {
  return opName(i.op, i.sub);
}
