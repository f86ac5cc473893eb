/**
 * The `ffi` declarations of a library (docs/ABI.md, Bridge linking): `name(type, ...) -> type`, one per line, `#`
 * comments. `bytes` lowers to (ptr i32, len i32) as a parameter and to an i64 (len << 32 | ptr) as
 * a result; `handle` is an i32 passed through untouched.
 */
import { type FuncType, ValType } from '../wasm/module.js';

export type FfiType = 'i32' | 'i64' | 'f32' | 'f64' | 'handle' | 'bytes';

export interface FfiDecl {
  name: string;
  params: FfiType[];
  result: FfiType | null;
  line: number;
}

const TYPES = new Set<FfiType>(['i32', 'i64', 'f32', 'f64', 'handle', 'bytes']);
const DECL = /^([A-Za-z_$][\w$.]*)\s*\(([^)]*)\)\s*(?:->\s*(\S+))?$/;

export class FfiSyntaxError extends Error {}

export function parseFfi(text: string): Map<string, FfiDecl> {
  const decls = new Map<string, FfiDecl>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const at = `ffi line ${i + 1} \`${raw.trim()}\``;
    const m = DECL.exec(line);
    if (!m) throw new FfiSyntaxError(`${at}: expected \`name(type, ...) -> type\` or \`name(type, ...)\``);
    const [, name, paramText, resultText] = m;
    const params = paramText!.trim() ? paramText!.split(',').map((p) => p.trim()) : [];
    for (const p of [...params, ...(resultText ? [resultText] : [])]) {
      if (!TYPES.has(p as FfiType)) throw new FfiSyntaxError(`${at}: unknown type \`${p}\` (types: ${[...TYPES].join(' ')})`);
    }
    if (decls.has(name!)) throw new FfiSyntaxError(`${at}: \`${name}\` is declared twice`);
    decls.set(name!, { name: name!, params: params as FfiType[], result: (resultText as FfiType) ?? null, line: i + 1 });
  });
  return decls;
}

const LOWER: Record<Exclude<FfiType, 'bytes'>, number> = {
  i32: ValType.i32,
  i64: ValType.i64,
  f32: ValType.f32,
  f64: ValType.f64,
  handle: ValType.i32,
};

export function lowerDecl(d: FfiDecl): FuncType {
  const params: number[] = [];
  for (const p of d.params) {
    if (p === 'bytes') params.push(ValType.i32, ValType.i32);
    else params.push(LOWER[p]);
  }
  const results = d.result === null ? [] : [d.result === 'bytes' ? ValType.i64 : LOWER[d.result]];
  return { params, results };
}

export function usesBytes(d: FfiDecl): boolean {
  return d.result === 'bytes' || d.params.includes('bytes');
}

export function formatDecl(d: FfiDecl): string {
  return `${d.name}(${d.params.join(', ')})${d.result ? ` -> ${d.result}` : ''}`;
}
