/**
 * A module's DWARF line table (`.debug_line`, DWARF 2-5, 32- and 64-bit): which source file, line and
 * column a byte of its code came from. Written here because no maintained reader on npm reads DWARF from
 * wasm at a cost a trap report can pay (docs/ARCHITECTURE.md, "Why a DWARF reader of our own").
 *
 * Addresses in a wasm line program are offsets from the start of the code section's payload (LLVM's and
 * wasmtime's convention), so address = module offset - code payload start. Every read is bounds-checked,
 * rows and units are capped, and malformed input gives null: a module chooses these bytes.
 */
import { ByteReader } from './leb.js';
import { SectionId, type WasmModule } from './module.js';

export interface SourcePosition {
  file: string | null;
  /** 0: no line (code the compiler made up). */
  line: number;
  /** 0: no column. */
  column: number;
}

export interface LineTable {
  rows: number;
  lookup(moduleOffset: number): SourcePosition | null;
}

interface Row extends SourcePosition {
  address: number;
  endSequence: boolean;
}

class Malformed extends Error {}
const UTF8 = new TextDecoder();
const fail = (m: string): never => {
  throw new Malformed(m);
};

class Reader {
  constructor(
    readonly b: Uint8Array,
    public p = 0,
    readonly end = b.length,
  ) {}
  need(n: number): void {
    if (n < 0 || this.p + n > this.end) fail('read past the end');
  }
  u8(): number {
    this.need(1);
    return this.b[this.p++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.b[this.p]! | (this.b[this.p + 1]! << 8);
    this.p += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const { b, p } = this;
    this.p += 4;
    return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16)) + b[p + 3]! * 0x1000000;
  }
  u64(): number {
    const lo = this.u32();
    return lo + this.u32() * 0x100000000;
  }
  uN(n: number): number {
    if (n === 1) return this.u8();
    if (n === 2) return this.u16();
    if (n === 4) return this.u32();
    if (n === 8) return this.u64();
    this.need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v += this.b[this.p + i]! * 2 ** (8 * i);
    this.p += n;
    return v;
  }
  skip(n: number): number {
    this.need(n);
    this.p += n;
    return 0;
  }
  uleb(): number {
    return this.leb(false);
  }
  sleb(): number {
    return this.leb(true);
  }
  private leb(signed: boolean): number {
    let v = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const byte = this.u8();
      v += (byte & 0x7f) * mul;
      mul *= 128;
      if (!(byte & 0x80)) return signed && byte & 0x40 ? v - mul : v;
    }
    return fail('LEB128 too long');
  }
  cstr(): string {
    const s = this.p;
    while (this.p < this.end && this.b[this.p] !== 0) this.p++;
    if (this.p >= this.end) fail('unterminated string');
    return UTF8.decode(this.b.subarray(s, this.p++));
  }
  /** A unit's initial length: the offset size (4 or 8) and where the unit ends. */
  unitLength(): { offSize: number; unitEnd: number } {
    let len = this.u32();
    let offSize = 4;
    if (len === 0xffffffff) {
      len = this.u64();
      offSize = 8;
    } else if (len >= 0xfffffff0) fail('reserved unit length');
    this.need(len);
    return { offSize, unitEnd: this.p + len };
  }
}

type Sections = Record<string, Uint8Array>;

/** A value of form `form` (DW_FORM_*), read (a number, or a string for DW_FORM_string) or skipped (0). */
function readForm(r: Reader, form: number, offSize: number, addrSize: number, version: number): number | string {
  switch (form) {
    case 0x01:
      return r.uN(addrSize); // addr
    case 0x03:
      return r.skip(r.u16()); // block2
    case 0x04:
      return r.skip(r.u32()); // block4
    case 0x05:
      return r.u16(); // data2
    case 0x06:
      return r.u32(); // data4
    case 0x07:
      return r.u64(); // data8
    case 0x08:
      return r.cstr(); // string
    case 0x09:
    case 0x18:
      return r.skip(r.uleb()); // block, exprloc
    case 0x0a:
      return r.skip(r.u8()); // block1
    case 0x0b:
    case 0x0c:
    case 0x11:
    case 0x25:
    case 0x29:
      return r.u8(); // data1 flag ref1 strx1 addrx1
    case 0x0d:
      return r.sleb(); // sdata
    case 0x0e:
    case 0x17:
    case 0x1d:
    case 0x1f:
    case 0x1f20:
    case 0x1f21:
      return r.uN(offSize); // strp sec_offset strp_sup line_strp GNU_ref_alt GNU_strp_alt
    case 0x10:
      return r.uN(version <= 2 ? addrSize : offSize); // ref_addr
    case 0x12:
    case 0x26:
    case 0x2a:
      return r.u16(); // ref2 strx2 addrx2
    case 0x13:
    case 0x1c:
    case 0x28:
    case 0x2c:
      return r.u32(); // ref4 ref_sup4 strx4 addrx4
    case 0x14:
    case 0x20:
    case 0x24:
      return r.u64(); // ref8 ref_sig8 ref_sup8
    case 0x0f:
    case 0x15:
    case 0x1a:
    case 0x1b:
    case 0x22:
    case 0x23:
    case 0x1f01:
    case 0x1f02:
      return r.uleb(); // udata ref_udata strx addrx loclistx rnglistx GNU_addr_index GNU_str_index
    case 0x16:
      return readForm(r, r.uleb(), offSize, addrSize, version); // indirect
    case 0x19:
    case 0x21:
      return 0; // flag_present, implicit_const
    case 0x1e:
      return r.skip(16); // data16
    case 0x27:
    case 0x2b:
      return r.uN(3); // strx3 addrx3
    default:
      return fail(`unknown form 0x${form.toString(16)}`);
  }
}

const STRX = new Set([0x1a, 0x25, 0x26, 0x27, 0x28]);

function strAt(sec: Uint8Array | undefined, off: number): string {
  if (!sec) return fail('missing string section');
  return new Reader(sec, off).cstr();
}

const join = (dir: string, name: string): string =>
  !name ? dir : !dir || name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name) ? name : `${dir.replace(/[\\/]+$/, '')}/${name}`;

/** DW_AT_comp_dir of each unit in .debug_info, by its DW_AT_stmt_list (relative file names join it). */
function compDirs(sec: Sections, maxUnits: number): Map<number, string> {
  const dirs = new Map<number, string>();
  const info = sec['.debug_info'];
  const abbrev = sec['.debug_abbrev'];
  if (!info || !abbrev) return dirs;
  const r = new Reader(info);
  for (let n = 0; r.p < info.length && n < maxUnits; n++) {
    const { offSize, unitEnd } = r.unitLength();
    const version = r.u16();
    let abbrOff = 0;
    let addrSize = 4;
    let unitType = 1;
    if (version >= 5) {
      unitType = r.u8();
      addrSize = r.u8();
      abbrOff = r.uN(offSize);
    } else if (version >= 2) {
      abbrOff = r.uN(offSize);
      addrSize = r.u8();
    }
    if (version < 2 || version > 5) {
      r.p = unitEnd;
      continue;
    }
    if (unitType === 4 || unitType === 5) r.skip(8); // skeleton and split units: dwo_id
    else if (unitType === 2 || unitType === 6) r.skip(8 + offSize); // type units
    const code = r.uleb();
    const a = new Reader(abbrev, abbrOff);
    let specs: Array<[number, number, number]> | null = null;
    while (!specs) {
      const c = a.uleb();
      if (c === 0) break;
      a.uleb();
      a.u8();
      const list: Array<[number, number, number]> = [];
      for (;;) {
        const at = a.uleb();
        const form = a.uleb();
        if (!at && !form) break;
        list.push([at, form, form === 0x21 ? a.sleb() : 0]);
      }
      if (c === code) specs = list;
    }
    if (specs) {
      const vals = new Map<number, [number, number | string]>();
      for (const [at, form, implicit] of specs) vals.set(at, [form, form === 0x21 ? implicit : readForm(r, form, offSize, addrSize, version)]);
      const stmt = vals.get(0x10);
      const cd = vals.get(0x1b);
      if (stmt && cd) {
        const [form, v] = cd;
        let dir: string | null = null;
        if (typeof v === 'string') dir = v;
        else if (form === 0x0e) dir = strAt(sec['.debug_str'], v);
        else if (form === 0x1f) dir = strAt(sec['.debug_line_str'], v);
        else if (STRX.has(form) && sec['.debug_str_offsets']) {
          const base = vals.get(0x72)?.[1];
          dir = strAt(sec['.debug_str'], new Reader(sec['.debug_str_offsets'], (typeof base === 'number' ? base : 8) + v * offSize).uN(offSize));
        }
        if (dir !== null && typeof stmt[1] === 'number' && !dirs.has(stmt[1])) dirs.set(stmt[1], dir);
      }
    }
    r.p = unitEnd;
  }
  return dirs;
}

/** DWARF 5's directory and file tables, described by their entry formats. */
function readV5Entries(r: Reader, sec: Sections, offSize: number): Array<{ path: string | null; dir: number }> {
  const fmt: Array<[number, number]> = [];
  const nfmt = r.u8();
  for (let i = 0; i < nfmt; i++) fmt.push([r.uleb(), r.uleb()]);
  const count = r.uleb();
  if (count > r.end - r.p) fail('entry count');
  const out: Array<{ path: string | null; dir: number }> = [];
  for (let i = 0; i < count; i++) {
    const e = { path: null as string | null, dir: 0 };
    for (const [type, form] of fmt) {
      const v = readForm(r, form, offSize, 8, 5);
      if (type === 1) {
        if (typeof v === 'string') e.path = v;
        else if (form === 0x1f) e.path = strAt(sec['.debug_line_str'], v);
        else if (form === 0x0e) e.path = strAt(sec['.debug_str'], v);
        else fail('path form');
      } else if (type === 2 && typeof v === 'number') e.dir = v;
    }
    out.push(e);
  }
  return out;
}

function parseUnit(r: Reader, sec: Sections, compDir: string | undefined, rows: Row[], maxRows: number): void {
  const { offSize, unitEnd } = r.unitLength();
  const version = r.u16();
  if (version < 2 || version > 5) {
    r.p = unitEnd;
    return;
  }
  const u = new Reader(r.b, r.p, unitEnd);
  let addrSize = 0;
  if (version >= 5) {
    addrSize = u.u8();
    u.u8(); // segment selector size
  }
  const headerLength = u.uN(offSize);
  const progStart = u.p + headerLength;
  if (progStart > unitEnd) fail('header length');
  const minInst = u.u8();
  const maxOps = version >= 4 ? u.u8() || 1 : 1;
  const defaultIsStmt = u.u8() !== 0;
  const lineBase = (u.u8() << 24) >> 24;
  const lineRange = u.u8();
  const opcodeBase = u.u8();
  if (lineRange === 0) fail('line_range 0');
  const stdLens = [0];
  for (let i = 1; i < opcodeBase; i++) stdLens.push(u.u8());
  let dirs: string[];
  let files: Array<string | null>;
  if (version >= 5) {
    const d = readV5Entries(u, sec, offSize);
    const f = readV5Entries(u, sec, offSize);
    // DWARF 5's directory 0 is the compilation directory itself (DW_AT_comp_dir's value)
    const root = d[0]?.path ?? compDir ?? '';
    dirs = d.map((e, i) => (i === 0 ? root : join(root, e.path ?? '')));
    files = f.map((e) => join(dirs[e.dir] ?? '', e.path ?? ''));
  } else {
    dirs = [compDir ?? ''];
    files = [null]; // file indices start at 1
    for (let s = u.cstr(); s !== ''; s = u.cstr()) dirs.push(join(dirs[0]!, s));
    for (let s = u.cstr(); s !== ''; s = u.cstr()) {
      const di = u.uleb();
      u.uleb();
      u.uleb();
      files.push(join(dirs[di] ?? '', s));
    }
  }
  u.p = progStart;
  let address = 0;
  let opIndex = 0;
  let file = 1;
  let line = 1;
  let column = 0;
  let end = false;
  const reset = () => {
    address = opIndex = column = 0;
    file = line = 1;
    end = false;
  };
  const emit = () => {
    if (rows.length >= maxRows) fail('too many rows');
    rows.push({ address, file: files[file] ?? null, line, column, endSequence: end });
  };
  const advance = (ops: number) => {
    if (maxOps === 1) address += minInst * ops;
    else {
      const t = opIndex + ops;
      address += minInst * Math.floor(t / maxOps);
      opIndex = t % maxOps;
    }
  };
  void defaultIsStmt; // is_stmt does not change which line an address belongs to
  while (u.p < unitEnd) {
    const op = u.u8();
    if (op >= opcodeBase) {
      const adj = op - opcodeBase;
      advance(Math.floor(adj / lineRange));
      line += lineBase + (adj % lineRange);
      emit();
    } else if (op === 0) {
      const len = u.uleb();
      u.need(len);
      const next = u.p + len;
      if (len > 0) {
        const sub = u.u8();
        if (sub === 1) {
          end = true;
          emit();
          reset();
        } else if (sub === 2) {
          address = u.uN(Math.min(len - 1, 8) || addrSize || 4);
          opIndex = 0;
        } else if (sub === 3 && version < 5) {
          const s = u.cstr();
          files.push(join(dirs[u.uleb()] ?? '', s));
        }
      }
      u.p = next; // exactly the declared length, whatever the operation (discriminators, vendor ops)
    } else if (op === 1) emit();
    else if (op === 2) advance(u.uleb());
    else if (op === 3) line += u.sleb();
    else if (op === 4) file = u.uleb();
    else if (op === 5) column = u.uleb();
    else if (op === 8) advance(Math.floor((255 - opcodeBase) / lineRange));
    else if (op === 9) {
      address += u.u16();
      opIndex = 0;
    } else if (op !== 6 && op !== 7 && op !== 10 && op !== 11) for (let i = 0; i < stdLens[op]!; i++) u.uleb(); // set_isa, unknown
  }
  r.p = unitEnd;
}

/** The custom sections' payloads by name (the first of each name), and the code section's payload. */
function sectionsOf(m: WasmModule): { sections: Sections; codeStart: number; codeSize: number } {
  const sections: Sections = {};
  for (const c of m.customs) {
    if (!c.name || c.name in sections) continue;
    const r = new ByteReader(m.bytes, c.start, c.end);
    r.name();
    sections[c.name] = m.bytes.subarray(r.pos, c.end);
  }
  const code = m.sections.find((s) => s.id === SectionId.code);
  return { sections, codeStart: code?.start ?? -1, codeSize: code ? code.end - code.start : 0 };
}

export function hasLineTable(m: WasmModule): boolean {
  return m.customs.some((c) => c.name === '.debug_line');
}

/** The module's line table, or null (no `.debug_line`, or one that cannot be read). */
export function readLineTable(m: WasmModule, { maxRows = 1_000_000, maxUnits = 100_000 } = {}): LineTable | null {
  try {
    const { sections, codeStart, codeSize } = sectionsOf(m);
    const lineSection = sections['.debug_line'];
    if (!lineSection || codeStart < 0) return null;
    let dirs = new Map<number, string>();
    try {
      dirs = compDirs(sections, maxUnits);
    } catch (e) {
      if (!(e instanceof Malformed || e instanceof RangeError)) throw e; // file names stay relative
    }
    const all: Row[] = [];
    const r = new Reader(lineSection);
    for (let n = 0; r.p < lineSection.length; n++) {
      if (n >= maxUnits) fail('too many units');
      parseUnit(r, sections, dirs.get(r.p), all, maxRows);
    }
    // sequences; unterminated tails, empty ones and dead code's (wasm-ld moves them to 0xffffffff,
    // older linkers to 0, where no function starts: address 0 holds the function count) dropped
    const seqs: Array<{ lo: number; hi: number; rows: Row[] }> = [];
    for (let i = 0, s = 0; i < all.length; i++) {
      if (!all[i]!.endSequence) continue;
      const seq = all.slice(s, i + 1);
      s = i + 1;
      const lo = seq[0]!.address;
      const hi = seq[seq.length - 1]!.address;
      if (lo > 0 && lo < hi && hi <= codeSize) seqs.push({ lo, hi, rows: seq });
    }
    seqs.sort((a, b) => a.lo - b.lo);
    const maxHi: number[] = [];
    for (const s of seqs) maxHi.push(Math.max(s.hi, maxHi.at(-1) ?? 0));
    const lookup = (moduleOffset: number): SourcePosition | null => {
      const addr = moduleOffset - codeStart;
      if (!Number.isFinite(addr) || addr < 0 || addr >= codeSize) return null;
      let lo = 0;
      let hi = seqs.length - 1;
      let k = -1;
      while (lo <= hi) {
        const m = (lo + hi) >> 1;
        if (seqs[m]!.lo <= addr) {
          k = m;
          lo = m + 1;
        } else hi = m - 1;
      }
      // walk back only while an earlier sequence may overlap
      for (; k >= 0 && maxHi[k]! > addr; k--) {
        const s = seqs[k]!;
        if (addr >= s.hi) continue;
        let a = 0;
        let b = s.rows.length - 2;
        let j = -1; // the last row at or before addr (a later row wins a tie)
        while (a <= b) {
          const m = (a + b) >> 1;
          if (s.rows[m]!.address <= addr) {
            j = m;
            a = m + 1;
          } else b = m - 1;
        }
        if (j < 0) return null;
        const row = s.rows[j]!;
        return { file: row.file, line: row.line, column: row.column };
      }
      return null;
    };
    return { rows: seqs.reduce((n, s) => n + s.rows.length, 0), lookup };
  } catch (e) {
    if (e instanceof Malformed || e instanceof RangeError) return null;
    throw e;
  }
}
