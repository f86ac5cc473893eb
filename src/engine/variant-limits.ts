/**
 * A module accepted once is never refused later: an execution may need other instrumented variants of
 * it than the one prepared up front (the exact-fuel variant to re-run a trap, the shared variant for
 * shared linking), each a little larger. V8 refuses a function over its size or locals limit (the
 * only limits the rewriting changes: module-level counts are the same in every variant). A module
 * with a function large enough to come near them has every variant instrumented at preparation and
 * checked, without compiling it; for any other module no variant can reach them (`mayReachEngineLimits`).
 */
import { instrumentModule } from '../wasm/instrument.js';
import type { WasmModule } from '../wasm/module.js';
import { readModule } from '../wasm/reader.js';

/** V8's limits per function (src/wasm/wasm-limits.h): the same on Node 20 and 24. */
export const V8_MAX_FUNCTION_BYTES = 7_654_321;
export const V8_MAX_FUNCTION_LOCALS = 50_000;

/**
 * How much the rewriting can grow a function body at most, and its fixed part (entry checks, trap
 * blocks): measured over every function of 4,186 modules (the spec tests, the examples, toolchains'
 * output) in every variant, the worst was 18.7x (a 10-byte body); 64x leaves a wide margin.
 */
export const GROWTH_BOUND = 64;
export const GROWTH_FIXED = 4096;
/** Scratch locals a variant may add to a function (fuel, stack pointer guard, bulk sizes, NaN canonicalisation). */
export const SCRATCH_LOCALS_BOUND = 16;

/**
 * Whether some variant of the module could reach V8's limits at all: only then are the variants
 * instrumented and checked (a function over ~119 KB, or one near the locals limit). Most modules
 * cost nothing more.
 */
export function mayReachEngineLimits(m: WasmModule): boolean {
  for (let i = 0; i < m.code.length; i++) {
    const body = m.code[i]!;
    if ((body.body.end - body.body.start) * GROWTH_BOUND + GROWTH_FIXED > V8_MAX_FUNCTION_BYTES) return true;
    let locals = m.types[m.functions[i]!]?.params.length ?? 0;
    for (const l of body.locals) locals += l.count;
    if (locals + SCRATCH_LOCALS_BOUND > V8_MAX_FUNCTION_LOCALS) return true;
  }
  return false;
}

export interface VariantShape {
  localFuel: boolean;
  shared: boolean;
}

/** Why a variant of the module cannot be compiled, or null when every function fits. */
export function variantTooLarge(instrumented: Uint8Array, original: WasmModule, what: string): string | null {
  const m = readModule(instrumented);
  const imported = m.imports.filter((i) => i.kind === 'func').length;
  for (let i = 0; i < Math.min(m.code.length, original.code.length); i++) {
    const body = m.code[i]!;
    const size = body.body.end - body.body.start;
    const index = imported + i;
    if (size > V8_MAX_FUNCTION_BYTES) {
      return `function ${index} would be ${size} bytes once metered ${what}, over the engine's limit of ${V8_MAX_FUNCTION_BYTES} bytes per function: split it into smaller functions`;
    }
    const type = m.types[m.functions[i]!];
    const locals = (type?.params.length ?? 0) + body.locals.reduce((n, l) => n + l.count, 0);
    if (locals > V8_MAX_FUNCTION_LOCALS) {
      return `function ${index} would have ${locals} locals once metered ${what}, over the engine's limit of ${V8_MAX_FUNCTION_LOCALS}: use fewer locals`;
    }
  }
  return null;
}

/**
 * Instruments `module` as each of `shapes` with `options(shape)` and checks each against V8's limits;
 * the first problem found, or null.
 */
export function checkVariants(
  module: WasmModule,
  shapes: VariantShape[],
  options: (shape: VariantShape) => Parameters<typeof instrumentModule>[1],
): string | null {
  for (const shape of shapes) {
    const what = `${shape.localFuel ? '' : 'for exact fuel (the re-run after a trap)'}${shape.shared ? `${shape.localFuel ? '' : ', '}for shared linking` : ''}`;
    const out = instrumentModule(module, options(shape));
    const problem = variantTooLarge(out.bytes, module, what);
    if (problem) return problem;
  }
  return null;
}
