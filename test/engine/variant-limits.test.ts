/**
 * A module accepted at preparation is never refused at execution (src/engine/variant-limits.ts): a
 * function whose fast variant fits V8's per-function size limit but whose exact-fuel variant (the
 * re-run after a trap) would not is refused up front, naming the function and what to do.
 */
import t from 'tap';
import { prepare } from '../../src/engine/prepare.js';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY } from '../../src/engine/defaults.js';
import { GROWTH_BOUND, GROWTH_FIXED, V8_MAX_FUNCTION_BYTES, mayReachEngineLimits } from '../../src/engine/variant-limits.js';
import { instrumentModule } from '../../src/wasm/instrument.js';
import { readModule } from '../../src/wasm/reader.js';
import { requestError } from '../support/engine.js';
import { leb } from '../support/leb.js';


/** `main` traps first (0 / 0), then `n` times `i32.const 1; br_if 0`: 16 bytes each metered fast, 20 exact. */
function module(n: number): Uint8Array {
  const prefix = [0x41, 0, 0x41, 0, 0x6d, 0x1a];
  const body = new Uint8Array(1 + prefix.length + n * 4 + 1);
  body.set([0, ...prefix]);
  for (let i = 0, at = 1 + prefix.length; i < n; i++, at += 4) body.set([0x41, 1, 0x0d, 0], at);
  body[body.length - 1] = 0x0b;
  const sec = (id: number, c: ArrayLike<number>) => [id, ...leb(c.length), ...Array.from(c)];
  const code = [1, ...leb(body.length)];
  const head = [0, 97, 115, 109, 1, 0, 0, 0, ...sec(1, [1, 0x60, 0, 0]), ...sec(3, [1, 0]), ...sec(7, [1, 4, 109, 97, 105, 110, 0, 0])];
  const size = leb(code.length + body.length);
  const prefixBytes = [...head, 10, ...size, ...code];
  const out = new Uint8Array(prefixBytes.length + body.length);
  out.set(prefixBytes);
  out.set(body, prefixBytes.length);
  return out;
}

/** The 1.7 MB function of the first and last cases, built and read once for the file. */
const NEAR_LIMIT = module(430_000);

const policy = { ...DEFAULT_ENGINE_POLICY, maxModuleBytes: 4 * 1024 * 1024 };

t.test('a function that fits only in its fast variant is refused at preparation', async (t) => {
  const bytes = NEAR_LIMIT;
  const m = readModule(bytes);
  // each variant instrumented once (a 1.7 MB function: about a second each)
  const variant = (localFuel: boolean) => instrumentModule(m, { localFuel, hostHooks: true, importMemory: true, moduleName: 'm' }).bytes;
  const [fast, exact] = [variant(true), variant(false)];
  const sizeOf = (out: Uint8Array) => {
    const f = readModule(out).code[0]!;
    return f.body.end - f.body.start;
  };
  const [fastSize, exactSize] = [sizeOf(fast), sizeOf(exact)];
  // the case is real: V8 compiles the fast variant and refuses the exact one
  t.ok(fastSize <= V8_MAX_FUNCTION_BYTES, `fast variant ${fastSize} bytes fits`);
  t.ok(exactSize > V8_MAX_FUNCTION_BYTES, `exact variant ${exactSize} bytes does not`);
  t.throws(() => new WebAssembly.Module(exact as BufferSource));
  const e = requestError(() => prepare(bytes, DEFAULT_ENGINE_CONFIG.instrument, policy));
  t.equal(e.kind, 'policy_violation');
  t.match(e.message, /^module cannot be metered: function 0 would be \d+ bytes once metered for exact fuel \(the re-run after a trap\), over the engine's limit of 7654321 bytes per function: split it/);
});

t.test('a function that fits in every variant is prepared', async (t) => {
  const p = prepare(module(300_000), DEFAULT_ENGINE_CONFIG.instrument, policy);
  t.equal(p.info.exports[0]?.name, 'main');
});

t.test('only modules with a function near the limits are checked variant by variant', async (t) => {
  t.equal(mayReachEngineLimits(readModule(module(1000))), false, 'a 4 KB function: no variant can reach the limit');
  t.equal(mayReachEngineLimits(readModule(NEAR_LIMIT)), true, 'a 1.7 MB function: checked');
  // the bound holds with room to spare: the largest growth over the examples is far below it
  for (const n of [10, 1000, 100_000]) {
    const m = readModule(module(n));
    for (const localFuel of [true, false]) {
      const out = readModule(instrumentModule(m, { localFuel, hostHooks: true, importMemory: true, moduleName: 'm' }).bytes).code[0]!;
      const grown = out.body.end - out.body.start;
      const original = m.code[0]!.body.end - m.code[0]!.body.start;
      t.ok(grown <= original * GROWTH_BOUND + GROWTH_FIXED, `n=${n} localFuel=${localFuel}: ${grown} <= ${original} x ${GROWTH_BOUND} + ${GROWTH_FIXED}`);
    }
  }
});
