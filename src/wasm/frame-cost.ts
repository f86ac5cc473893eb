/**
 * The stack cost of each defined function (docs/ABI.md, "Stack"): what the meter charges against the
 * stack budget while the function is active. Computed statically from the original module only, so
 * every variant of a module (fast, exact, shared, standalone) charges the same.
 *
 *     cost = FRAME_BASE + SLOT_BYTES × width × (params + locals + max operand-stack height
 *                                                + repeated expressions + small direct callees' slots)
 *
 * (each small callee counting at least one slot, at most INLINE_MAX_SLOTS in all)
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
  // inlined callees: every small function reachable from this one through direct calls of small
  // functions. Each one visited counts at least one slot (a call is at least one node of V8's
  // budget), so one walk visits at most INLINE_MAX_SLOTS functions whatever the call graph.
  let inlined = 0;
  let wide = own.wide;
  if (own.callees.length) {
    const stamp = stampsOf(m);
    const mark = ++stamp.epoch;
    stamp.seen[i] = mark;
    const todo = own.callees.slice();
    while (todo.length && inlined < INLINE_MAX_SLOTS) {
      const g = todo.pop()!;
      if (stamp.seen[g] === mark) continue;
      stamp.seen[g] = mark;
      const s = shape(g);
      if (s.size > INLINE_MAX_BYTES) continue;
      inlined += Math.max(1, s.slots);
      wide ||= s.wide;
      for (const c of s.callees) if (stamp.seen[c] !== mark) todo.push(c);
    }
  }
  const slots = own.slots + Math.min(inlined, INLINE_MAX_SLOTS);
  return FRAME_BASE + SLOT_BYTES * (wide ? 2 : 1) * slots;
}

/** Visit marks for the callee walks of one module (an epoch per walk: no clearing). */
const stampsByModule = new WeakMap<WasmModule, { seen: Int32Array; epoch: number }>();
function stampsOf(m: WasmModule): { seen: Int32Array; epoch: number } {
  let s = stampsByModule.get(m);
  if (!s) stampsByModule.set(m, (s = { seen: new Int32Array(m.code.length), epoch: 0 }));
  return s;
}

/** The type of every function (imports first), once per module. */
const funcTypesOf = new WeakMap<WasmModule, FuncType[]>();
function funcTypes(m: WasmModule): FuncType[] {
  let list = funcTypesOf.get(m);
  if (!list) {
    const none: FuncType = { params: [], results: [] };
    list = [];
    for (const imp of m.imports) if (imp.kind === 'func') list.push(m.types[imp.typeIndex] ?? none);
    for (const t of m.functions) list.push(m.types[t] ?? none);
    funcTypesOf.set(m, list);
  }
  return list;
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

/** pops << 4 | pushes (pops -1: unknown), without an array per operator. */
const fx = (pops: number, pushes: number) => (pops << 4) | pushes;

function fdEffect(sub: number, kind: number): number {
  switch (kind) {
    case Imm.memArg:
      return sub === 0x0b ? fx(2, 0) : fx(1, 1); // v128.store; the loads
    case Imm.memArgLane:
      return sub >= 0x58 ? fx(2, 0) : fx(2, 1); // store_lane; load_lane
    case Imm.v128:
      return sub === 0x0c ? fx(0, 1) : fx(2, 1); // v128.const; i8x16.shuffle
    case Imm.lane:
      return FD_EXTRACT[sub] ? fx(1, 1) : fx(2, 1);
    default:
      return fx(FD_POPS[sub]!, 1);
  }
}

const FD_EXTRACT = FD.names.map((n) => n.includes('extract'));

function feEffect(sub: number): number {
  if (sub === 0) return fx(2, 1); // notify
  if (sub <= 2) return fx(3, 1); // wait
  if (sub === 3) return fx(0, 0); // fence
  if (sub <= 0x16) return fx(1, 1); // loads
  if (sub <= 0x1d) return fx(2, 0); // stores
  if (sub <= 0x47) return fx(2, 1); // read-modify-write
  return fx(3, 1); // cmpxchg
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
  const types = funcTypes(m);
  const bytes = m.bytes;
  let locals = type.params.length;
  let wide = wideModule(m) || type.params.includes(ValType.v128);
  for (const l of body.locals) {
    locals += l.count;
    if (l.type === ValType.v128) wide = true;
  }
  const callees = new Set<number>();

  const r = new ByteReader(bytes, body.codeStart, body.body.end);
  const frames: Frame[] = [{ base: 0, params: 0, results: type.results.length, dead: false }];
  // identities of the values on the operand stack (hashes), for repeated expressions; the pure
  // expressions met are collected, then sorted to count the repeated ones (cheaper than a Set)
  let ids = scratch.ids;
  let exprs = scratch.exprs;
  let nExprs = 0;
  let fresh = 1;
  let h = 0;
  let max = 0;
  let pushedTotal = 0;
  let consistent = true;
  const push = (n: number, id: number) => {
    if (h + n > ids.length) ids = scratch.ids = grow(ids, h + n);
    if (n === 1) ids[h] = id;
    else for (let k = 0; k < n; k++) ids[h + k] = -fresh++;
    h += n;
    pushedTotal += n;
    if (h > max) max = h;
  };
  const pop = (n: number, top: Frame) => {
    h -= n;
    if (h < top.base) consistent = false;
  };
  let btParams = 0;
  let btResults = 0;
  const blockType = (): void => {
    const b = bytes[r.pos]!;
    btParams = 0;
    btResults = 0;
    if (b === 0x40) {
      r.pos++;
      return;
    }
    if (b >= 0x6f && b <= 0x7f) {
      if (b === ValType.v128) wide = true;
      r.pos++;
      btResults = 1;
      return;
    }
    const t = m.types[r.s32()];
    if (!t) return;
    if (t.params.includes(ValType.v128) || t.results.includes(ValType.v128)) wide = true;
    btParams = t.params.length;
    btResults = t.results.length;
  };

  while (r.pos < body.body.end) {
    const op = r.byte();
    const top = frames[frames.length - 1]!;
    if (op === 0x02 || op === 0x03 || op === 0x04) {
      if (op === 0x04 && !top.dead) pop(1, top);
      blockType();
      frames.push({ base: h - btParams, params: btParams, results: btResults, dead: top.dead });
      continue;
    }
    if (op === 0x05 || op === 0x0b) {
      if (!top.dead && h !== top.base + top.results) consistent = false;
      if (op === 0x05) {
        h = top.base;
        push(top.params, -fresh++);
        top.dead = frames[frames.length - 2]?.dead ?? false;
      } else {
        frames.pop();
        if (frames.length === 0) break;
        const outer = frames[frames.length - 1]!;
        if (!outer.dead) {
          h = top.base;
          push(top.results, -fresh++);
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
    if (op === 0x00 || op === 0x0c || op === 0x0f || op === 0x0e) {
      skipImmediates(r, kind);
      top.dead = true;
      continue;
    }
    if (op === 0x0d) {
      r.u32();
      pop(1, top);
      continue;
    }
    if (op >= 0x10 && op <= 0x13) {
      let ft: FuncType;
      if (op === 0x10 || op === 0x12) {
        const f = r.u32();
        ft = types[f] ?? NO_TYPE;
        if (f >= importedFuncs) callees.add(f - importedFuncs);
      } else {
        ft = m.types[r.u32()] ?? NO_TYPE;
        r.u32();
        pop(1, top);
      }
      if (ft.params.includes(ValType.v128) || ft.results.includes(ValType.v128)) wide = true;
      pop(ft.params.length, top);
      if (op >= 0x12) top.dead = true;
      else push(ft.results.length, -fresh++);
      continue;
    }
    // ordinary operators: identities for repeated-expression counting
    let pops: number;
    let pushes: number;
    if (op === PREFIX_FC) {
      pops = FC_POPS[sub] ?? 0;
      pushes = FC_PUSHES[sub] ?? 1;
    } else if (op === PREFIX_FD) {
      wide = true;
      const e = fdEffect(sub, kind);
      pops = e >> 4;
      pushes = e & 15;
    } else if (op === PREFIX_FE) {
      const e = feEffect(sub);
      pops = e >> 4;
      pushes = e & 15;
    } else {
      pops = POPS[op]!;
      pushes = PUSHES[op]!;
    }
    if (pops < 0) {
      pops = 0; // unknown to this table: over-estimates the height
      pushes = 1;
    }
    const immStart = r.pos;
    skipImmediates(r, kind);
    if (op === 0x22) continue; // local.tee: the value stays, with its identity
    let id = 0;
    if (pushes === 1 && op !== PREFIX_FE && op !== 0x40 && !(op === PREFIX_FC && sub === 15)) {
      // a hash of the operator, its immediates and its operands
      let x = (op * 0x10001 + sub) | 0;
      for (let k = immStart; k < r.pos; k++) x = Math.imul(x ^ bytes[k]!, 0x01000193);
      for (let k = 1; k <= pops; k++) x = Math.imul(x ^ (h - k >= 0 ? ids[h - k]! : 0), 0x01000193);
      id = x;
      const constant = (op >= 0x41 && op <= 0x44) || op === 0x20 || op === 0xd0 || op === 0xd2 || (op === PREFIX_FD && sub === 0x0c);
      if (!constant) {
        if (nExprs === exprs.length) exprs = scratch.exprs = grow(exprs, nExprs + 1);
        exprs[nExprs++] = id;
      }
    }
    pop(pops, top);
    if (pushes) push(pushes, id || -fresh++);
  }
  if (!consistent) max = pushedTotal;
  return { slots: locals + max + repeatedCount(exprs, nExprs), wide, callees: [...callees], size: body.body.end - body.body.start, consistent };
}

/** Reused buffers of `analyze` (one function at a time, per thread). */
const scratch: { ids: Int32Array; exprs: Int32Array } = { ids: new Int32Array(256), exprs: new Int32Array(1024) };

function grow(a: Int32Array, need: number): Int32Array {
  const b = new Int32Array(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}

/** How many distinct values occur more than once among the first `n` of `xs` (sorts them in place). */
function repeatedCount(xs: Int32Array, n: number): number {
  const v = xs.subarray(0, n).sort();
  let count = 0;
  for (let i = 1; i < n; i++) if (v[i] === v[i - 1] && (i === 1 || v[i - 1] !== v[i - 2])) count++;
  return count;
}

const NO_TYPE: FuncType = { params: [], results: [] };

/** For tests: the pieces of one function's own cost. */
export function frameShape(m: WasmModule, definedIndex: number): { slots: number; wide: boolean; size: number; consistent: boolean } {
  const s = analyze(m, definedIndex);
  return { slots: s.slots, wide: s.wide, size: s.size, consistent: s.consistent };
}
