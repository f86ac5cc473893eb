/** The decoded shape of a module. Instruction sequences stay as byte ranges into `bytes`. */

export const SectionId = {
  custom: 0,
  type: 1,
  import: 2,
  function: 3,
  table: 4,
  memory: 5,
  global: 6,
  export: 7,
  start: 8,
  element: 9,
  code: 10,
  data: 11,
  dataCount: 12,
} as const;

export const ValType = {
  i32: 0x7f,
  i64: 0x7e,
  f32: 0x7d,
  f64: 0x7c,
  v128: 0x7b,
  funcref: 0x70,
  externref: 0x6f,
} as const;

export const VALTYPE_NAMES: Record<number, string> = {
  0x7f: 'i32',
  0x7e: 'i64',
  0x7d: 'f32',
  0x7c: 'f64',
  0x7b: 'v128',
  0x70: 'funcref',
  0x6f: 'externref',
};

export const ExternalKind = { func: 0, table: 1, memory: 2, global: 3 } as const;
export type KindName = 'func' | 'table' | 'memory' | 'global';
export const KIND_NAMES: KindName[] = ['func', 'table', 'memory', 'global'];

/** A half-open range [start, end) of the module bytes. */
export interface Range {
  start: number;
  end: number;
}

export interface Section extends Range {
  id: number;
  /** Offset of the section id byte: `bytes[headerStart, end)` is the whole section. */
  headerStart: number;
  /** For custom sections. */
  name?: string;
}

export interface FuncType {
  params: number[];
  results: number[];
}

export interface Limits {
  /** The raw flags byte: bit 0 max present, bit 1 shared, bit 2 64-bit. */
  flags: number;
  min: number;
  max: number | null;
}

export interface TableType {
  elemType: number;
  limits: Limits;
}

export interface GlobalType {
  valType: number;
  mutable: boolean;
}

export type Import =
  | { module: string; name: string; kind: 'func'; typeIndex: number }
  | { module: string; name: string; kind: 'table'; table: TableType }
  | { module: string; name: string; kind: 'memory'; memory: Limits }
  | { module: string; name: string; kind: 'global'; global: GlobalType };

export interface Global {
  type: GlobalType;
  /** The constant expression, including its final `end`. */
  init: Range;
}

export interface Export {
  name: string;
  kind: KindName;
  index: number;
}

export interface ElementSegment {
  /** The encoding flags 0..7. */
  flags: number;
  mode: 'active' | 'passive' | 'declarative';
  table: number;
  offset: Range | null;
  elemType: number;
  /** For flags 0..3: function indices. */
  funcIndices: number[] | null;
  /** For flags 4..7: constant expressions. */
  exprs: Range[] | null;
}

export interface DataSegment {
  /** The encoding flags 0..2. */
  flags: number;
  mode: 'active' | 'passive';
  memory: number;
  offset: Range | null;
  init: Range;
}

export interface LocalDecl {
  count: number;
  type: number;
}

export interface FunctionBody {
  /** The whole body after its size prefix: locals then code. */
  body: Range;
  locals: LocalDecl[];
  /** Offset of the first instruction. */
  codeStart: number;
}

export interface WasmModule {
  bytes: Uint8Array;
  version: number;
  sections: Section[];
  types: FuncType[];
  imports: Import[];
  /** Type index of each defined function. */
  functions: number[];
  tables: TableType[];
  memories: Limits[];
  globals: Global[];
  exports: Export[];
  start: number | null;
  elements: ElementSegment[];
  dataCount: number | null;
  code: FunctionBody[];
  data: DataSegment[];
  customs: Section[];
}

export function countImports(m: WasmModule, kind: KindName): number {
  let n = 0;
  for (const i of m.imports) if (i.kind === kind) n++;
  return n;
}

/** The type of function `index` in the function index space (imports first). */
export function funcTypeOf(m: WasmModule, index: number): FuncType | undefined {
  let seen = 0;
  for (const i of m.imports) {
    if (i.kind !== 'func') continue;
    if (seen === index) return m.types[i.typeIndex];
    seen++;
  }
  const t = m.functions[index - seen];
  return t === undefined ? undefined : m.types[t];
}

export function formatFuncType(t: FuncType): string {
  const names = (v: number[]) => v.map((x) => VALTYPE_NAMES[x] ?? `0x${x.toString(16)}`).join(', ');
  return `(${names(t.params)}) -> (${names(t.results)})`;
}

export function sameFuncType(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((p, i) => p === b.params[i]) &&
    a.results.every((p, i) => p === b.results[i])
  );
}
