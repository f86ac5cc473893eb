/**
 * A module accepted once is never refused later: an execution may need other instrumented variants of
 * it than the one prepared up front (the exact-fuel variant to re-run a trap, the shared variant for
 * shared linking), each a little larger. V8 refuses a function over its size or locals limit, so
 * every variant is instrumented at preparation and checked against those limits (the only ones the
 * rewriting changes: module-level counts are the same in every variant), without compiling it.
 */
import { instrumentModule } from '../wasm/instrument.js';
import type { WasmModule } from '../wasm/module.js';
import { readModule } from '../wasm/reader.js';

/** V8's limits per function (src/wasm/wasm-limits.h): the same on Node 20 and 24. */
export const V8_MAX_FUNCTION_BYTES = 7_654_321;
export const V8_MAX_FUNCTION_LOCALS = 50_000;

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
