/** Byte-level reading and writing of the wasm binary encoding (LEB128, names, raw bytes). */

export class WasmFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
    this.name = 'WasmFormatError';
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/** A cursor over a byte array. `pos` is public: scanners move it directly. */
export class ByteReader {
  pos: number;
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
  ) {
    this.pos = start;
  }

  fail(message: string, at = this.pos): never {
    throw new WasmFormatError(message, at);
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  byte(): number {
    if (this.pos >= this.end) this.fail('unexpected end');
    return this.bytes[this.pos++]!;
  }

  /** Unsigned LEB128 up to 32 bits. */
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift === 28) {
        if ((b & 0x70) !== 0) this.fail('integer too large');
        if (b & 0x80) this.fail('integer representation too long');
        return (result | (b << 28)) >>> 0;
      }
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }

  /** Signed LEB128 up to 32 bits. */
  s32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      if (shift === 28) {
        if (b & 0x80) this.fail('integer representation too long');
        // the unused bits of the fifth byte must all equal the sign bit (0x08)
        const high = b & 0x78;
        if (high !== 0 && high !== 0x78) this.fail('integer too large');
        return result | (b << 28);
      }
      result |= (b & 0x7f) << shift;
      shift += 7;
      if ((b & 0x80) === 0) return shift < 32 && b & 0x40 ? result | (-1 << shift) : result;
    }
  }

  /** Signed LEB128 up to 64 bits, as a bigint (only immediates of i64.const need the value). */
  s64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; ; i++) {
      const b = this.byte();
      if (i === 9) {
        if (b & 0x80) this.fail('integer representation too long');
        if (b !== 0 && b !== 0x7f) this.fail('integer too large');
      }
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
      if ((b & 0x80) === 0) {
        if (shift < 64n && b & 0x40) result |= -1n << shift;
        return BigInt.asIntN(64, result);
      }
    }
  }

  /** Skips one LEB128 of at most `maxBytes` bytes without decoding it. */
  skipLeb(maxBytes: number): void {
    for (let i = 0; i < maxBytes; i++) {
      if ((this.byte() & 0x80) === 0) return;
    }
    this.fail('integer representation too long');
  }

  skip(n: number): void {
    if (n < 0 || this.pos + n > this.end) this.fail('unexpected end');
    this.pos += n;
  }

  take(n: number): Uint8Array {
    const start = this.pos;
    this.skip(n);
    return this.bytes.subarray(start, start + n);
  }

  name(): string {
    const len = this.u32();
    const at = this.pos;
    const raw = this.take(len);
    try {
      return utf8Decoder.decode(raw);
    } catch {
      this.fail('malformed UTF-8 encoding', at);
    }
  }
}

/** A growable byte buffer with the encoders the writer and the rewriter need. */
export class ByteWriter {
  buf: Uint8Array;
  len = 0;

  constructor(initialCapacity = 256) {
    this.buf = new Uint8Array(initialCapacity);
  }

  private grow(extra: number): void {
    let cap = this.buf.length * 2;
    while (cap < this.len + extra) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byte(b: number): this {
    if (this.len >= this.buf.length) this.grow(1);
    this.buf[this.len++] = b;
    return this;
  }

  bytes(src: Uint8Array, start = 0, end = src.length): this {
    const n = end - start;
    if (this.len + n > this.buf.length) this.grow(n);
    if (n <= 16) {
      // short runs (most instruction runs) are cheaper copied by hand than through a new view
      const buf = this.buf;
      let at = this.len;
      for (let i = start; i < end; i++) buf[at++] = src[i]!;
    } else {
      this.buf.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.len);
    }
    this.len += n;
    return this;
  }

  u32(value: number): this {
    let v = value >>> 0;
    for (;;) {
      const b = v & 0x7f;
      v >>>= 7;
      if (v === 0) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  s32(value: number): this {
    let v = value | 0;
    for (;;) {
      const b = v & 0x7f;
      v >>= 7;
      if ((v === 0 && (b & 0x40) === 0) || (v === -1 && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  s64(value: bigint): this {
    let v = BigInt.asIntN(64, value);
    for (;;) {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) return this.byte(b);
      this.byte(b | 0x80);
    }
  }

  /** A u32 padded to exactly 5 bytes, so a size can be patched in place later. */
  u32Padded(value: number): this {
    let v = value >>> 0;
    for (let i = 0; i < 4; i++) {
      this.byte((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    return this.byte(v & 0x7f);
  }

  patchU32Padded(at: number, value: number): void {
    let v = value >>> 0;
    for (let i = 0; i < 4; i++) {
      this.buf[at + i] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[at + 4] = v & 0x7f;
  }

  name(text: string): this {
    const raw = utf8Encoder.encode(text);
    return this.u32(raw.length).bytes(raw);
  }

  /** Length-prefixed bytes. */
  vecBytes(src: Uint8Array): this {
    return this.u32(src.length).bytes(src);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Bytes needed for the canonical unsigned LEB128 of `value`. */
export function u32Size(value: number): number {
  let v = value >>> 0;
  let n = 1;
  while (v >= 0x80) {
    v >>>= 7;
    n++;
  }
  return n;
}
