/**
 * The stack cost of each defined function (docs/ABI.md, "Stack"): what the meter charges against the
 * stack budget while the function is active. Computed statically from the original module only, so
 * every variant of a module (fast, exact, shared, standalone) charges the same.
 *
 *     cost = FRAME_BASE + SLOT_BYTES × width × (params + locals + max operand-stack height
 *                                                + repeated expressions + small direct callees' slots)
 *
 * V8 keeps every local and operand-stack slot in its frame in Liftoff (8 bytes each, 16 for a v128;
 * measured on Node 20 and 24: about 40–72 bytes of fixed frame plus 8 per slot, see
 * test/engine/stack-tiers.test.ts). TurboFan keeps fewer values, except that value numbering keeps a
 * repeated pure expression alive from its first to its last use, and (Node 22+) it inlines callees of
 * up to 500 bytes into the caller's frame: the last two terms bound those. SLOT_BYTES is twice V8's
 * slot, `width` is 2 when the function may hold a v128 anywhere, and FRAME_BASE covers the fixed frame
 * plus the instrumentation's scratch locals and the few operand slots its checks push.
 */
import { ByteReader } from './leb.js';
import { type FuncType, ValType, type WasmModule, countImports } from './module.js';
import { FD, Imm, PREFIX_FC, PREFIX_FD, PREFIX_FE, SINGLE, prefixTable } from './opcodes.js';
import { skipImmediates } from './instructions.js';

/** Bytes charged per function for its fixed frame, the instrumentation's scratch locals and check operands. */
export const FRAME_BASE = 256;
/** Bytes charged per value slot (V8 uses 8; v128 values count twice through `width`). */
export const SLOT_BYTES = 16;
/**
 * Bytes charged around a call to an import (a host function, or a function of the other module:
 * the bridge, shared linking, a shared table): the wasm-to-JS and JS-to-wasm wrappers, the host's own
 * JavaScript frames and the other module's entry wrapper, none of which is a metered function.
 */
export const CROSSING_BYTES = 4096;
/** V8's `--wasm-inlining-max-size`: larger functions are never inlined into their callers. */
export const INLINE_MAX_BYTES = 500;
/**
 * At most this many slots are counted for inlined callees: V8 stops inlining once the caller's graph
 * reaches its budget of 5000 nodes, and a value in a slot is at least one node.
 */
export const INLINE_MAX_SLOTS = 5000;

interface Shape {
  /** Slots in the function's own frame: params, locals, max operand-stack height, repeated expressions. */
  slots: number;
  wide: boolean;
  /** Defined-function indices of direct callees (for inlining). */
  callees: number[];
  /** Body size in bytes (locals and code), V8's measure for inlining. */
  size: number;
  /** Whether the heights added up (else `slots` used the fallback bound). */
  consistent: boolean;
}

const costsOf = new WeakMap<WasmModule, Map<number, number>>();

/** The frame cost of defined function `definedIndex`, in bytes (cached per module). */
export function frameCost(m: WasmModule, definedIndex: number): number {
  let costs = costsOf.get(m);
  if (!costs) costsOf.set(m, (costs = new Map()));
  let c = costs.get(definedIndex);
  if (c === undefined) {
    c = computeCost(m, definedIndex, shapes(m));
    costs.set(definedIndex, c);
  }
  return c;
}

const shapesOf = new WeakMap<WasmModule, Array<Shape | undefined>>();

function shapes(m: WasmModule): (i: number) => Shape {
  let list = shapesOf.get(m);
  if (!list) shapesOf.set(m, (list = []));
  const l = list;
  return (i) => (l[i] ??= analyze(m, i));
}

function computeCost(m: WasmModule, i: number, shape: (i: number) => Shape): number {
  const own = shape(i);
  // inlined callees: every small function reachable from this one through direct calls of small functions
  let inlined = 0;
  let wide = own.wide;
  const seen = new Set<number>([i]);
  const todo = own.callees.slice();
  while (todo.length && inlined < INLINE_MAX_SLOTS) {
    const g = todo.pop()!;
    if (seen.has(g)) continue;
    seen.add(g);
    const s = shape(g);
    if (s.size > INLINE_MAX_BYTES) continue;
    inlined += s.slots;
    wide ||= s.wide;
    todo.push(...s.callees);
  }
  const slots = own.slots + Math.min(inlined, INLINE_MAX_SLOTS);
  return FRAME_BASE + SLOT_BYTES * (wide ? 2 : 1) * slots;
}

/** Whether any type or global of the module is a v128: then a v128 may reach any function's stack. */
const moduleWide = new WeakMap<WasmModule, boolean>();
function wideModule(m: WasmModule): boolean {
  let w = moduleWide.get(m);
  if (w === undefined) {
    const v = (t: FuncType) => t.params.includes(ValType.v128) || t.results.includes(ValType.v128);
    w =
      m.types.some(v) ||
      m.globals.some((g) => g.type.valType === ValType.v128) ||
      m.imports.some((i) => i.kind === 'global' && i.global.valType === ValType.v128);
    moduleWide.set(m, w);
  }
  return w;
}

// Stack effects (pops, pushes) of the operators without special handling, by opcode.
const POPS = new Int8Array(256).fill(-1);
const PUSHES = new Int8Array(256);
function effect(from: number, to: number, pops: number, pushes: number): void {
  for (let op = from; op <= to; op++) {
    POPS[op] = pops;
    PUSHES[op] = pushes;
  }
}
effect(0x01, 0x01, 0, 0); // nop
effect(0x1a, 0x1a, 1, 0); // drop
effect(0x1b, 0x1c, 3, 1); // select
effect(0x20, 0x20, 0, 1); // local.get
effect(0x21, 0x21, 1, 0); // local.set
effect(0x22, 0x22, 1, 1); // local.tee
effect(0x23, 0x23, 0, 1); // global.get
effect(0x24, 0x24, 1, 0); // global.set
effect(0x25, 0x25, 1, 1); // table.get
effect(0x26, 0x26, 2, 0); // table.set
effect(0x28, 0x35, 1, 1); // loads
effect(0x36, 0x3e, 2, 0); // stores
effect(0x3f, 0x3f, 0, 1); // memory.size
effect(0x40, 0x40, 1, 1); // memory.grow
effect(0x41, 0x44, 0, 1); // constants
effect(0x45, 0x45, 1, 1); // i32.eqz
effect(0x46, 0x4f, 2, 1);
effect(0x50, 0x50, 1, 1); // i64.eqz
effect(0x51, 0x66, 2, 1); // comparisons
effect(0x67, 0x69, 1, 1);
effect(0x6a, 0x78, 2, 1);
effect(0x79, 0x7b, 1, 1);
effect(0x7c, 0x8a, 2, 1);
effect(0x8b, 0x91, 1, 1);
effect(0x92, 0x98, 2, 1);
effect(0x99, 0x9f, 1, 1);
effect(0xa0, 0xa6, 2, 1);
effect(0xa7, 0xc4, 1, 1); // conversions, sign extension
effect(0xd0, 0xd0, 0, 1); // ref.null
effect(0xd1, 0xd1, 1, 1); // ref.is_null
effect(0xd2, 0xd2, 0, 1); // ref.func

const FC_POPS = [1, 1, 1, 1, 1, 1, 1, 1, 3, 0, 3, 3, 3, 0, 3, 2, 0, 3];
const FC_PUSHES = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0];

/** SIMD operators without immediates: ternary, unary, else binary (all push one v128 or scalar). */
const FD_POPS = FD.names.map((n, sub) => {
  if (FD.imm[sub] !== Imm.none || n === '') return -1;
  if (/bitselect|relaxed_n?madd|laneselect|_add_s$/.test(n)) return 3;
  if (/abs|neg|popcnt|all_true|bitmask|ceil|floor|\.trunc$|nearest|sqrt|extadd_pairwise|extend_(low|high)|convert|demote|promote|trunc_sat|relaxed_trunc|\.not$|any_true|splat/.test(n)) return 1;
  return 2;
});

function fdEffect(sub: number, kind: number): [number, number] {
  switch (kind) {
    case Imm.memArg:
      return sub === 0x0b ? [2, 0] : [1, 1]; // v128.store; the loads
    case Imm.memArgLane:
      return sub >= 0x58 ? [2, 0] : [2, 1]; // store_lane; load_lane
    case Imm.v128:
      return sub === 0x0c ? [0, 1] : [2, 1]; // v128.const; i8x16.shuffle
    case Imm.lane:
      return FD.names[sub]!.includes('extract') ? [1, 1] : [2, 1];
    default:
      return [FD_POPS[sub]!, 1];
  }
}

function feEffect(sub: number): [number, number] {
  if (sub === 0) return [2, 1]; // notify
  if (sub <= 2) return [3, 1]; // wait
  if (sub === 3) return [0, 0]; // fence
  if (sub <= 0x16) return [1, 1]; // loads
  if (sub <= 0x1d) return [2, 0]; // stores
  if (sub <= 0x47) return [2, 1]; // read-modify-write
  return [3, 1]; // cmpxchg
}

interface Frame {
  /** Operand-stack height below the block's parameters. */
  base: number;
  params: number;
  results: number;
  /** The block's code after a branch is dead until `else` or `end`. */
  dead: boolean;
}

/**
 * One pass over a body: the maximum operand-stack height (dead code never runs and is skipped), and
 * the pure expressions that occur more than once (V8 may compute them once and keep the value). An
 * expression is identified by a hash of its operator, immediates and operands' identities, where a
 * local's value is the same all through the function and loads and `global.get` count as pure:
 * that matches more than V8 can, never less. When the heights do not add up (an operator this table
 * gets wrong), the height falls back to the count of all values pushed, which no stack can exceed.
 */
function analyze(m: WasmModule, index: number): Shape {
  const body = m.code[index]!;
  const type = m.types[m.functions[index]!]!;
  const importedFuncs = countImports(m, 'func');
  const bytes = m.bytes;
  let locals = type.params.length;
  let wide = wideModule(m) || type.params.includes(ValType.v128);
  for (const l of body.locals) {
    locals += l.count;
    if (l.type === ValType.v128) wide = true;
  }
  const callees = new Set<number>();
  const funcType = (f: number): FuncType => {
    if (f >= importedFuncs) return m.types[m.functions[f - importedFuncs]!]!;
    let seen = 0;
    for (const i of m.imports) if (i.kind === 'func' && seen++ === f) return m.types[i.typeIndex]!;
    return { params: [], results: [] };
  };

  const r = new ByteReader(bytes, body.codeStart, body.body.end);
  const frames: Frame[] = [{ base: 0, params: 0, results: type.results.length, dead: false }];
  // identities of the values on the operand stack (hashes), for repeated expressions
  const ids: number[] = [];
  const seenExpr = new Set<number>();
  const repeated = new Set<number>();
  let fresh = 1;
  let h = 0;
  let max = 0;
  let pushedTotal = 0;
  let consistent = true;
  const push = (n: number, id = -fresh++) => {
    for (let k = 0; k < n; k++) ids[h + k] = n === 1 ? id : -fresh++;
    h += n;
    pushedTotal += n;
    if (h > max) max = h;
  };
  const pop = (n: number) => {
    h -= n;
    if (h < frames[frames.length - 1]!.base) consistent = false;
  };
  const blockType = (): [number, number] => {
    const b = bytes[r.pos]!;
    if (b === 0x40) return r.pos++, [0, 0];
    if (b >= 0x6f && b <= 0x7f) {
      if (b === ValType.v128) wide = true;
      return r.pos++, [0, 1];
    }
    const t = m.types[r.s32()];
    if (!t) return [0, 0];
    if (t.params.includes(ValType.v128) || t.results.includes(ValType.v128)) wide = true;
    return [t.params.length, t.results.length];
  };

  while (r.pos < body.body.end) {
    const op = r.byte();
    const top = frames[frames.length - 1]!;
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      if (op === 0x04 && !top.dead) pop(1);
      const [params, results] = blockType();
      frames.push({ base: h - params, params, results, dead: top.dead });
      continue;
    }
    if (op === 0x05 || op === 0x0b) {
      if (!top.dead && h !== top.base + top.results) consistent = false;
      if (op === 0x05) {
        h = top.base;
        push(top.params);
        top.dead = frames[frames.length - 2]?.dead ?? false;
      } else {
        frames.pop();
        if (frames.length === 0) break;
        const outer = frames[frames.length - 1]!;
        if (!outer.dead) {
          h = top.base;
          push(top.results);
        }
      }
      continue;
    }
    const t = prefixTable(op);
    const sub = t ? r.u32() : -1;
    const kind = t ? t.imm[sub]! : SINGLE.imm[op]!;
    if (top.dead) {
      skipImmediates(r, kind);
      continue;
    }
    const enddead = () => (top.dead = true);
    if (op === 0x00 || op === 0x0c || op === 0x0f) {
      skipImmediates(r, kind);
      enddead();
      continue;
    }
    if (op === 0x0d) {
      r.u32();
      pop(1);
      continue;
    }
    if (op === 0x0e) {
      skipImmediates(r, kind);
      enddead();
      continue;
    }
    if (op >= 0x10 && op <= 0x13) {
      let ft: FuncType;
      if (op === 0x10 || op === 0x12) {
        const f = r.u32();
        ft = funcType(f);
        if (f >= importedFuncs) callees.add(f - importedFuncs);
      } else {
        ft = m.types[r.u32()] ?? { params: [], results: [] };
        r.u32();
        pop(1);
      }
      if (ft.params.includes(ValType.v128) || ft.results.includes(ValType.v128)) wide = true;
      pop(ft.params.length);
      if (op >= 0x12) enddead();
      else push(ft.results.length);
      continue;
    }
    // ordinary operators: identities for repeated-expression counting
    let pops: number;
    let pushes: number;
    if (op === PREFIX_FC) [pops, pushes] = [FC_POPS[sub] ?? 0, FC_PUSHES[sub] ?? 1];
    else if (op === PREFIX_FD) {
      wide = true;
      [pops, pushes] = fdEffect(sub, kind);
    } else if (op === PREFIX_FE) [pops, pushes] = feEffect(sub);
    else [pops, pushes] = [POPS[op]!, PUSHES[op]!];
    if (pops < 0) [pops, pushes] = [0, 1]; // unknown to this table: over-estimates the height
    const immStart = r.pos;
    skipImmediates(r, kind);
    if (op === 0x22) continue; // local.tee: the value stays, with its identity
    let id = 0;
    if (pushes === 1 && op !== PREFIX_FE && op !== 0x40 && !(op === PREFIX_FC && sub === 15)) {
      // a hash of the operator, its immediates and its operands
      let x = (op * 0x10001 + sub) | 0;
      for (let k = immStart; k < r.pos; k++) x = Math.imul(x ^ bytes[k]!, 0x01000193);
      for (let k = 1; k <= pops; k++) x = Math.imul(x ^ (ids[h - k] ?? 0), 0x01000193);
      id = x;
      const constant = (op >= 0x41 && op <= 0x44) || op === 0x20 || op === 0xd0 || op === 0xd2 || (op === PREFIX_FD && sub === 0x0c);
      if (!constant) {
        if (seenExpr.has(id)) repeated.add(id);
        else seenExpr.add(id);
      }
    }
    pop(pops);
    if (pushes) push(pushes, id || -fresh++);
  }
  if (!consistent) max = pushedTotal;
  return { slots: locals + max + repeated.size, wide, callees: [...callees], size: body.body.end - body.body.start, consistent };
}

/** For tests: the pieces of one function's own cost. */
export function frameShape(m: WasmModule, definedIndex: number): { slots: number; wide: boolean; size: number; consistent: boolean } {
  const s = analyze(m, definedIndex);
  return { slots: s.slots, wide: s.wide, size: s.size, consistent: s.consistent };
}
