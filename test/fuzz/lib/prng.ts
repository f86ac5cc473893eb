/**
 * A small seeded PRNG (splitmix64): every fuzz case is reproducible from its seed alone, on any
 * machine, so a finding is reported as a seed.
 */
const MASK = (1n << 64n) - 1n;

export class Prng {
  private s: bigint;
  constructor(seed: number | bigint, stream = 0) {
    this.s = (BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(stream) * 0xbf58476d1ce4e5b9n) & MASK;
  }

  /** The next 64 random bits. */
  next64(): bigint {
    this.s = (this.s + 0x9e3779b97f4a7c15n) & MASK;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  }

  u32(): number {
    return Number(this.next64() >> 32n);
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor((this.u32() / 2 ** 32) * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 8) {
      let v = this.next64();
      for (let j = i; j < Math.min(n, i + 8); j++) {
        out[j] = Number(v & 0xffn);
        v >>= 8n;
      }
    }
    return out;
  }
}
