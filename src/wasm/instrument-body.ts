/**
 * Rewrites one function body: fuel charged per basic block up front (wasmtime's cost model), the
 * stack budget (the function's frame cost charged at its entry and given back at its exit, a fixed
 * crossing cost around calls that may leave the module; frame-cost.ts), `memory.grow` routed through
 * the shared page budget, per-element fuel for bulk operators, and global indices shifted past the
 * meter's imported globals.
 *
 * A basic block ("segment") ends after a branch, `if`, `else`, `end`, `loop` (its body starts a new
 * one), `return`, `unreachable` or a call. Each segment's cost is charged by code placed at its start,
 * so the hot path has no call into JavaScript: subtract, check the sign, `br_if` to the function's
 * trap block (see `trapIf`) when negative.
 */
import { ByteReader, ByteWriter } from './leb.js';
import { MeterFlag } from './meter-abi.js';
import { CROSSING_BYTES } from './frame-cost.js';
import type { FunctionBody } from './module.js';
import { FC_BULK, INVALID, PREFIX_FC, SINGLE, prefixTable } from './opcodes.js';
import { skipImmediates } from './instructions.js';
import { type StackGuard, emitGuardedSet } from './stack-guard.js';
import { NAN_SCRATCH_TYPES, type NanScratch, emitCanonicalize, nanKind } from './nan-canon.js';

export interface BodyContext {
  bytes: Uint8Array;
  fuel: boolean;
  /** Charge the stack budget (frames and crossings). */
  stack: boolean;
  /** Index of the appended `memory.grow` replacement, or -1 to leave `memory.grow` alone. */
  growFunc: number;
  /** Imported globals before the meter's: indices at or above this shift by `globalShift`. */
  importedGlobals: number;
  globalShift: number;
  /** Global indices of the meter: fuel and the stack budget as this module's code uses them, pages and flags. */
  gFuel: number;
  gStack: number;
  gPages: number;
  gFlags: number;
  /**
   * When the module keeps its own copies of fuel and the stack budget (all but standalone mode): the
   * shared globals they are synced with around calls that may leave the module.
   */
  sync: { fuel: number; stack: number; importedFuncs: number; indirect: boolean } | null;
  /**
   * Standalone mode: a global counting import calls in progress, raised around calls that may leave
   * the module, so an entry wrapper can tell a new top-level call from a call back from an import.
   */
  importCalls: { count: number; importedFuncs: number; indirect: boolean } | null;
  /** Shared linking: the imported stack pointer and its floor. */
  spGuard: StackGuard | null;
  /** Whether writes to `spGuard.sp` are checked (false only to measure the guard's cost). */
  guardWrites?: boolean;
  /** Function references (`ref.func`) redirected to entry wrappers, or null. */
  refRemap: Map<number, number> | null;
  /**
   * Keep the fuel in a local of each function: loaded at entry and after calls, stored back before
   * calls and exits. Fast, but a trap leaves the global behind (the engine then re-runs the execution
   * with the exact variant).
   */
  localFuel: boolean;
  /** The frame cost of a defined function, by defined-function index (frame-cost.ts). */
  frameCost: (definedIndex: number) => number;
  /** Imported functions (function indices below this are imports). */
  importedFuncs: number;
  /** Replace NaN results of float arithmetic by the canonical NaN (nan-canon.ts); costs no fuel. */
  canonicalizeNaN?: boolean;
}

/** Where each original instruction landed and what its segment charged (for exact fuel on traps). */
export interface BodyTrace {
  /** Offset of each original instruction in the rewritten body (from the body's start, after its size). */
  outOffsets: number[];
  /** Cost of the segment's operators up to and including this one (function entry included). */
  costThrough: number[];
  /** Cost charged up front by this instruction's segment. */
  segmentCost: number[];
}

// Opcodes the rewriter treats specially.
const UNREACHABLE = 0x00;
const BLOCK = 0x02;
const LOOP = 0x03;
const IF = 0x04;
const ELSE = 0x05;
const END = 0x0b;
const BR = 0x0c;
const BR_IF = 0x0d;
const BR_TABLE = 0x0e;
const RETURN = 0x0f;
const CALL = 0x10;
const CALL_INDIRECT = 0x11;
const RETURN_CALL = 0x12;
const RETURN_CALL_INDIRECT = 0x13;
const GLOBAL_GET = 0x23;
const GLOBAL_SET = 0x24;
const MEMORY_GROW = 0x40;
const REF_FUNC = 0xd2;
const TABLE_GROW = 15; // 0xFC 15

/** The block type of a function without results: the result block is then `block (empty)`. */
export const VOID_BLOCK = Uint8Array.of(0x40);

/** Operator costs of single-byte opcodes (0 for the structural ones, 1 otherwise). */
const COST = new Uint8Array(256).fill(1);
for (const op of [UNREACHABLE, 0x01, BLOCK, LOOP, ELSE, END, RETURN, 0x1a]) COST[op] = 0;

/** What ends a segment: 1 = the code after it is live, 2 = dead (until the enclosing block ends). */
const ENDS = new Uint8Array(256);
for (const op of [LOOP, IF, ELSE, END, BR_IF, CALL, CALL_INDIRECT]) ENDS[op] = 1;
for (const op of [BR, BR_TABLE, RETURN, UNREACHABLE, RETURN_CALL, RETURN_CALL_INDIRECT]) ENDS[op] = 2;

export class BodyRewriter {
  private readonly out = new ByteWriter(1024);
  private readonly seg = new ByteWriter(1024);
  /** Whether any rewritten body takes a function reference (`ref.func`). */
  sawRefFunc = false;
  private scratch64 = 0;
  private scratch32 = 0;
  /** A second i32 scratch: the result of `table.grow`, while its delta sits in `scratch32`. */
  private scratch32b = 0;
  /** Whether the body being rewritten checks the stack budget (and so needs the stack-overflow trap block). */
  private usedSo = false;
  /** NaN canonicalization's scratch locals (f32, f64, v128), declared only when the body used them. */
  private readonly nan: NanScratch = { f32: 0, f64: 0, v128: 0 };
  private usedNan = false;

  constructor(private readonly ctx: BodyContext) {}

  /**
   * Rewrites `body` (of a function with `paramCount` parameters) and appends it, size-prefixed, to
   * `dest`. Returns the offset of the body (after the size) in `dest`.
   */
  rewrite(body: FunctionBody, paramCount: number, dest: ByteWriter, trace?: BodyTrace, blockType: Uint8Array = VOID_BLOCK, self = -1): number {
    const { ctx, out, seg } = this;
    const bytes = ctx.bytes;
    let localCount = paramCount;
    for (const l of body.locals) localCount += l.count;
    this.scratch64 = localCount;
    this.scratch32 = localCount + 1;
    this.scratch32b = localCount + 2;
    this.nan.f32 = localCount + 3;
    this.nan.f64 = localCount + 4;
    this.nan.v128 = localCount + 5;
    this.usedNan = false;
    const canon = ctx.canonicalizeNaN === true;
    out.len = 0;
    seg.len = 0;
    this.usedSo = false;
    const local = ctx.localFuel && ctx.fuel;
    // the function's own frame: charged before its entry fuel, given back at its exit
    const frame = ctx.stack && self >= 0 ? ctx.frameCost(self) : 0;
    // one exit after the result block (fuel stored back, frame given back): `return` branches there
    const epilogue = local || frame > 0;
    if (frame) this.stackEnter(out, frame, 0);

    const r = new ByteReader(bytes, body.codeStart, body.body.end);
    const end = body.body.end;
    let cost = 1; // function entry
    let dead = false;
    let depth = 0; // nesting of blocks inside the function body
    let deadDepth = 0;
    let segDepth = 0; // nesting where the current segment starts (where its charge is placed)
    let copyFrom = r.pos; // start of original bytes not yet copied into `seg`
    let pendingSync = false; // the call closing this segment leaves the module: reload the copies after it
    // the fuel local is loaded at the next segment's start (at entry, after a call), merged into its charge
    let pendingReload = local;
    let pendingLeave = false; // the call closing this segment charged the crossing at its site: give it back after it
    // trace bookkeeping: offsets inside `seg` until the segment is placed
    const segStartIndex = trace ? trace.outOffsets.length : 0;
    let traceSegStart = segStartIndex;

    while (r.pos < end) {
      const at = r.pos;
      const op = bytes[r.pos++]!;
      let opCost: number;
      let sub = -1;
      if (trace) {
        trace.outOffsets.push(seg.len + (at - copyFrom));
      }
      const t = op >= PREFIX_FC ? prefixTable(op) : undefined;
      if (t) {
        sub = r.u32();
        const kind = sub < t.imm.length ? t.imm[sub]! : INVALID;
        if (kind === INVALID) r.fail(`unknown opcode 0x${op.toString(16)} ${sub}`, at);
        skipImmediates(r, kind);
        opCost = 1;
        if (op === PREFIX_FC && sub === TABLE_GROW && ctx.fuel) {
          // table.grow pays per element added, and only when it succeeds (as wasmtime)
          seg.bytes(bytes, copyFrom, at);
          seg.byte(0x22).u32(this.scratch32); // local.tee n
          seg.bytes(bytes, at, r.pos);
          this.tableGrowCharge(depth);
          copyFrom = r.pos;
        } else if (op === PREFIX_FC && FC_BULK.has(sub) && ctx.fuel) {
          // n (elements or bytes) is on top of the stack: refuse when it exceeds the fuel left,
          // charge it after the operator succeeded (a trapping bulk operator touched nothing).
          seg.bytes(bytes, copyFrom, at);
          this.bulkCheck(depth);
          seg.bytes(bytes, at, r.pos);
          this.bulkCharge();
          copyFrom = r.pos;
        } else if (canon && nanKind(op, sub)) {
          seg.bytes(bytes, copyFrom, r.pos);
          emitCanonicalize(seg, nanKind(op, sub), this.nan);
          this.usedNan = true;
          copyFrom = r.pos;
        }
      } else {
        const kind = SINGLE.imm[op]!;
        if (kind === INVALID) r.fail(`unknown opcode 0x${op.toString(16)}`, at);
        opCost = COST[op]!;
        if (op === GLOBAL_GET || op === GLOBAL_SET) {
          const idx = r.u32();
          const to = idx >= ctx.importedGlobals ? idx + ctx.globalShift : idx;
          if (op === GLOBAL_SET && ctx.spGuard && ctx.guardWrites !== false && to === ctx.spGuard.sp) {
            seg.bytes(bytes, copyFrom, at);
            emitGuardedSet(seg, ctx.spGuard, this.scratch32, ctx.gFlags);
            copyFrom = r.pos;
          } else if (to !== idx) {
            seg.bytes(bytes, copyFrom, at);
            seg.byte(op).u32(to);
            copyFrom = r.pos;
          }
        } else if (op === MEMORY_GROW && ctx.growFunc >= 0) {
          r.skipLeb(5);
          seg.bytes(bytes, copyFrom, at);
          // the helper charges the pages it added to the fuel global
          if (local) this.flushFuel(seg);
          seg.byte(CALL).u32(ctx.growFunc);
          if (local) this.reloadFuel(seg);
          copyFrom = r.pos;
        } else if (op >= CALL && op <= RETURN_CALL_INDIRECT) {
          const callee = op === CALL || op === RETURN_CALL ? r.u32() : -1;
          if (callee < 0) skipImmediates(r, kind);
          const leaving = ctx.sync ?? ctx.importCalls;
          const sync = leaving !== null && (callee >= 0 ? callee < leaving.importedFuncs : leaving.indirect);
          const tail = op === RETURN_CALL || op === RETURN_CALL_INDIRECT;
          // a call that may leave the module charges the crossing here; a wasm callee of this module its own frame
          const crossing = ctx.stack && sync;
          if (tail && sync) {
            // a tail call out of the module becomes call + return: the caller's copy must be reloaded after it
            seg.bytes(bytes, copyFrom, at);
            if (crossing) this.stackEnter(seg, CROSSING_BYTES, depth);
            if (local) this.flushFuel(seg);
            this.syncOut(seg);
            seg.byte(op === RETURN_CALL ? CALL : CALL_INDIRECT).bytes(bytes, at + 1, r.pos);
            this.syncIn(seg);
            if (crossing) this.stackLeave(seg, CROSSING_BYTES);
            if (frame) this.stackLeave(seg, frame);
            seg.byte(RETURN); // the fuel global is current (syncIn): not through the epilogue
            copyFrom = r.pos;
          } else if (tail && (local || frame)) {
            // the callee replaces this frame (V8 drops it) and charges its own at its entry
            seg.bytes(bytes, copyFrom, at);
            if (local) this.flushFuel(seg); // the callee loads the fuel at its entry
            if (frame) this.stackLeave(seg, frame);
            copyFrom = at;
          } else if (!tail && (crossing || sync || local)) {
            seg.bytes(bytes, copyFrom, at);
            if (crossing) this.stackEnter(seg, CROSSING_BYTES, depth);
            if (local) this.flushFuel(seg);
            if (sync) this.syncOut(seg);
            copyFrom = at;
            pendingSync = sync;
            pendingLeave = crossing;
          }
        } else if (op === RETURN && epilogue) {
          // to the result block, whose end is followed by the epilogue
          seg.bytes(bytes, copyFrom, at);
          seg.byte(BR).u32(depth);
          copyFrom = r.pos;
        } else if (op === REF_FUNC) {
          this.sawRefFunc = true;
          const f = r.u32();
          const to = ctx.refRemap?.get(f);
          if (to !== undefined) {
            seg.bytes(bytes, copyFrom, at);
            seg.byte(REF_FUNC).u32(to);
            copyFrom = r.pos;
          }
        } else {
          skipImmediates(r, kind);
          if (canon && nanKind(op)) {
            seg.bytes(bytes, copyFrom, r.pos);
            emitCanonicalize(seg, nanKind(op), this.nan);
            this.usedNan = true;
            copyFrom = r.pos;
          }
        }
      }

      if (!dead) cost += opCost;
      if (trace) {
        trace.costThrough.push(dead ? 0 : cost);
      }

      if (op === BLOCK || op === LOOP || op === IF) depth++;
      const ends = t ? 0 : ENDS[op]!;
      if (ends === 0) continue;

      // The segment ends with this instruction: place its charge, then its code.
      seg.bytes(bytes, copyFrom, r.pos);
      copyFrom = r.pos;
      if (!dead && ctx.fuel && cost > 0) this.charge(cost, segDepth, pendingReload);
      else if (pendingReload) this.reloadFuel(out);
      pendingReload = false;
      if (trace) {
        const base = out.len;
        for (let i = traceSegStart; i < trace.outOffsets.length; i++) {
          trace.outOffsets[i]! += base;
          trace.segmentCost.push(dead ? 0 : cost);
        }
        traceSegStart = trace.outOffsets.length;
      }
      out.bytes(seg.buf, 0, seg.len);
      seg.len = 0;
      cost = 0;

      if (op === CALL || op === CALL_INDIRECT) {
        if (pendingSync) this.syncIn(out);
        if (pendingLeave) this.stackLeave(out, CROSSING_BYTES);
        pendingReload = local; // merged into the next charge
        pendingSync = false;
        pendingLeave = false;
      }
      if (op === END || op === ELSE) {
        if (dead && depth === deadDepth) dead = false;
        if (op === END) depth--;
      } else if (ends === 2 && !dead) {
        dead = true;
        deadDepth = depth;
      }
      segDepth = depth;
    }
    if (seg.len !== 0 || copyFrom !== end) r.fail('function body does not end with `end`', end);

    // The trap blocks (see `trapIf`): the body, whose final `end` now closes the result block, is
    // followed by `return` and the trap code that the checks branch to.
    const wrapOof = ctx.fuel; // every function charges its entry, so it uses the out-of-fuel block
    const wrapSo = this.usedSo;
    let prefixLen = 0;
    if (wrapOof || wrapSo) {
      prefixLen = (wrapSo ? 2 : 0) + (wrapOof ? 2 : 0) + 1 + blockType.length;
      if (local) this.flushFuel(out);
      if (frame) this.stackLeave(out, frame);
      out.byte(RETURN);
      if (wrapOof) this.trapCode(out, MeterFlag.outOfFuel);
      if (wrapSo) this.trapCode(out, MeterFlag.stackOverflow);
      out.byte(END);
    }

    // locals: the originals, then the scratch locals (i64 for fuel, two i32 for the stack check and bulk sizes)
    const localsBytes = localsWithScratch(body, this.usedNan);
    dest.u32(localsBytes.length + prefixLen + out.len);
    const bodyStart = dest.len;
    dest.bytes(localsBytes);
    if (prefixLen) {
      if (wrapSo) dest.byte(BLOCK).byte(0x40);
      if (wrapOof) dest.byte(BLOCK).byte(0x40);
      dest.byte(BLOCK).bytes(blockType);
    }
    dest.bytes(out.buf, 0, out.len);
    const shift = localsBytes.length + prefixLen;
    if (trace) for (let i = segStartIndex; i < trace.outOffsets.length; i++) trace.outOffsets[i]! += shift;
    return bodyStart;
  }

  /** fuel -= cost; trap (flagged out of fuel) when it went negative. `at`: the nesting where it is placed. */
  private charge(cost: number, at: number, reload = false): void {
    const { out, ctx } = this;
    if (ctx.localFuel) {
      if (reload) out.byte(GLOBAL_GET).u32(ctx.gFuel); // right after a call: the fuel the callee left
      else out.byte(0x20).u32(this.scratch64); // local.get fuel
      out.byte(0x42).s32(cost);
      out.byte(0x7d); // i64.sub
      out.byte(0x22).u32(this.scratch64); // local.tee fuel
      out.byte(0x42).byte(0);
      out.byte(0x53); // i64.lt_s
      this.trapIf(out, MeterFlag.outOfFuel, at);
      return;
    }
    out.byte(GLOBAL_GET).u32(ctx.gFuel);
    out.byte(0x42).s32(cost); // i64.const: costs fit 31 bits, and the LEB is the same
    out.byte(0x7d); // i64.sub
    out.byte(0x22).u32(this.scratch64); // local.tee
    out.byte(GLOBAL_SET).u32(ctx.gFuel);
    out.byte(0x20).u32(this.scratch64); // local.get
    out.byte(0x42).byte(0); // i64.const 0
    out.byte(0x53); // i64.lt_s
    this.trapIf(out, MeterFlag.outOfFuel, at);
  }

  /**
   * When the condition on the stack holds: set `flag` and trap, by a branch to the function's trap
   * block for that flag. `at` is the nesting (blocks open inside the original body) where the check
   * is placed. The rewritten body is
   *
   *     block $so          ;; only when the function checks the stack budget
   *       block $oof       ;; whenever fuel is charged
   *         block (result …)   ;; the function's results
   *           <original body>  ;; its final `end` closes this block
   *         return
   *       end  <flags |= outOfFuel; unreachable>
   *     end  <flags |= stackOverflow; unreachable>
   *
   * so from nesting `at` the result block is `at`, `$oof` is `at + 1`, `$so` is `at + 1` or `at + 2`.
   * A branch to the function's own label now targets the result block, followed by `return`: the same.
   */
  private trapIf(w: ByteWriter, flag: number, at: number): void {
    let label = at + 1;
    if (flag === MeterFlag.stackOverflow) {
      this.usedSo = true;
      if (this.ctx.fuel) label++;
    }
    w.byte(BR_IF).u32(label);
  }

  /** The code a trap block's `end` is followed by: close it, set `flag`, trap. */
  private trapCode(w: ByteWriter, flag: number): void {
    const { ctx } = this;
    w.byte(END);
    w.byte(GLOBAL_GET).u32(ctx.gFlags);
    w.byte(0x41).s32(flag); // i32.const
    w.byte(0x72); // i32.or
    w.byte(GLOBAL_SET).u32(ctx.gFlags);
    w.byte(UNREACHABLE);
  }

  /**
   * At a function's entry (its frame) or before a call leaving the module (the crossing): trap
   * (flagged stack overflow) when less than `bytes` of the budget is left, else budget -= bytes.
   * The budget never goes below 0, so the subtraction cannot wrap.
   */
  private stackEnter(w: ByteWriter, bytes: number, at: number): void {
    const { ctx } = this;
    w.byte(GLOBAL_GET).u32(ctx.gStack);
    w.byte(0x41).s32(bytes);
    w.byte(0x6b); // i32.sub
    w.byte(0x22).u32(this.scratch32); // local.tee
    w.byte(0x41).byte(0);
    w.byte(0x48); // i32.lt_s
    this.trapIf(w, MeterFlag.stackOverflow, at);
    w.byte(0x20).u32(this.scratch32);
    w.byte(GLOBAL_SET).u32(ctx.gStack);
  }

  /** At the exit, after the call returned, or before a tail call: budget += bytes. */
  private stackLeave(w: ByteWriter, bytes: number): void {
    const { ctx } = this;
    w.byte(GLOBAL_GET).u32(ctx.gStack);
    w.byte(0x41).s32(bytes);
    w.byte(0x6a); // i32.add
    w.byte(GLOBAL_SET).u32(ctx.gStack);
  }

  /** fuel global ← the function's fuel local (before a call or an exit). */
  private flushFuel(w: ByteWriter): void {
    w.byte(0x20).u32(this.scratch64).byte(GLOBAL_SET).u32(this.ctx.gFuel);
  }

  /** the function's fuel local ← fuel global (at entry, after a call). */
  private reloadFuel(w: ByteWriter): void {
    w.byte(GLOBAL_GET).u32(this.ctx.gFuel).byte(0x21).u32(this.scratch64);
  }

  /** Before a call that may leave the module: publish this module's fuel and stack budget to the shared meter. */
  private syncOut(w: ByteWriter): void {
    const { ctx } = this;
    if (ctx.importCalls) return this.countImportCall(w, 0x6a);
    const s = ctx.sync!;
    w.byte(GLOBAL_GET).u32(ctx.gFuel).byte(GLOBAL_SET).u32(s.fuel);
    w.byte(GLOBAL_GET).u32(ctx.gStack).byte(GLOBAL_SET).u32(s.stack);
  }

  /** After it returned: take back what the callee (or the host) left in the shared meter. */
  private syncIn(w: ByteWriter): void {
    const { ctx } = this;
    if (ctx.importCalls) return this.countImportCall(w, 0x6b);
    const s = ctx.sync!;
    w.byte(GLOBAL_GET).u32(s.fuel).byte(GLOBAL_SET).u32(ctx.gFuel);
    w.byte(GLOBAL_GET).u32(s.stack).byte(GLOBAL_SET).u32(ctx.gStack);
  }

  /** Standalone mode: import calls in progress += 1 (`i32.add`) or -= 1 (`i32.sub`). */
  private countImportCall(w: ByteWriter, op: number): void {
    const g = this.ctx.importCalls!.count;
    w.byte(GLOBAL_GET).u32(g).byte(0x41).byte(1).byte(op).byte(GLOBAL_SET).u32(g);
  }

  /** n on the stack: trap (out of fuel) when n exceeds the fuel left; keeps n in the i32 scratch. */
  private bulkCheck(at: number): void {
    const { seg, ctx } = this;
    seg.byte(0x22).u32(this.scratch32); // local.tee n
    seg.byte(0xad); // i64.extend_i32_u
    if (ctx.localFuel) seg.byte(0x20).u32(this.scratch64);
    else seg.byte(GLOBAL_GET).u32(ctx.gFuel);
    seg.byte(0x55); // i64.gt_s
    this.trapIf(seg, MeterFlag.outOfFuel, at);
    seg.byte(0x20).u32(this.scratch32); // local.get n
  }

  /** After `table.grow` (result on the stack, n in scratch32): unless it returned -1, fuel -= n, trapping below 0. */
  private tableGrowCharge(at: number): void {
    const { seg, ctx } = this;
    seg.byte(0x22).u32(this.scratch32b); // local.tee result
    seg.byte(0x41).s32(-1).byte(0x47); // i32.const -1; i32.ne
    seg.byte(IF).byte(0x40);
    this.bulkCharge();
    if (ctx.localFuel) seg.byte(0x20).u32(this.scratch64);
    else seg.byte(GLOBAL_GET).u32(ctx.gFuel);
    seg.byte(0x42).byte(0).byte(0x53); // i64.const 0; i64.lt_s
    this.trapIf(seg, MeterFlag.outOfFuel, at + 1); // inside the `if`
    seg.byte(END);
    seg.byte(0x20).u32(this.scratch32b);
  }

  /** fuel -= n (after the bulk operator). */
  private bulkCharge(): void {
    const { seg, ctx } = this;
    if (ctx.localFuel) seg.byte(0x20).u32(this.scratch64);
    else seg.byte(GLOBAL_GET).u32(ctx.gFuel);
    seg.byte(0x20).u32(this.scratch32);
    seg.byte(0xad);
    seg.byte(0x7d); // i64.sub
    if (ctx.localFuel) seg.byte(0x21).u32(this.scratch64);
    else seg.byte(GLOBAL_SET).u32(ctx.gFuel);
  }
}

function localsWithScratch(body: FunctionBody, nan: boolean): Uint8Array {
  const w = new ByteWriter(24 + body.locals.length * 3);
  w.u32(body.locals.length + 2 + (nan ? NAN_SCRATCH_TYPES.length : 0));
  for (const l of body.locals) w.u32(l.count).byte(l.type);
  w.u32(1).byte(0x7e);
  w.u32(2).byte(0x7f);
  if (nan) for (const t of NAN_SCRATCH_TYPES) w.u32(1).byte(t); // nan-canon.ts: f32, f64, v128
  return w.finish();
}
