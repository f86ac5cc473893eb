/**
 * Rewrites one function body: fuel charged per basic block up front (wasmtime's cost model), the
 * stack budget (the function's frame cost charged at its entry and given back at its exit, a fixed
 * crossing cost around calls that may leave the module; frame-cost.ts), `memory.grow` routed through
 * the shared page budget, per-element fuel for bulk operators, and global indices shifted past the
 * meter's imported globals. The code it places is meter-code.ts's.
 *
 * A basic block ("segment") ends after a branch, `if`, `else`, `end`, `loop` (its body starts a new
 * one), `return`, `unreachable` or a call. Each segment's cost is charged by code placed at its start,
 * so the hot path has no call into JavaScript: subtract, check the sign, `br_if` to the function's
 * trap block (see `MeterCode.trapIf`) when negative.
 */
import { ByteReader, ByteWriter } from './leb.js';
import { MeterFlag } from './meter-abi.js';
import { CROSSING_BYTES } from './frame-cost.js';
import type { FunctionBody } from './module.js';
import { FC_BULK, INVALID, PREFIX_FC, SINGLE, prefixTable } from './opcodes.js';
import { skipImmediates } from './instructions.js';
import { emitGuardedSet } from './stack-guard.js';
import { NAN_SCRATCH_TYPES, type NanScratch, emitCanonicalize, nanKind } from './nan-canon.js';
import {
  type BodyContext,
  type BodyTrace,
  BLOCK,
  BR,
  BR_IF,
  BR_TABLE,
  CALL,
  CALL_INDIRECT,
  ELSE,
  END,
  GLOBAL_GET,
  GLOBAL_SET,
  IF,
  LOOP,
  MEMORY_GROW,
  REF_FUNC,
  RETURN,
  RETURN_CALL,
  RETURN_CALL_INDIRECT,
  TABLE_GROW,
  UNREACHABLE,
  VOID_BLOCK,
} from './body-context.js';
import { MeterCode } from './meter-code.js';
import { emitHook } from './profile-hooks.js';

export { type BodyContext, type BodyTrace, VOID_BLOCK } from './body-context.js';

/** Operator costs of single-byte opcodes (0 for the structural ones, 1 otherwise). */
const COST = new Uint8Array(256).fill(1);
for (const op of [UNREACHABLE, 0x01, BLOCK, LOOP, ELSE, END, RETURN, 0x1a]) COST[op] = 0;

/** What ends a segment: 1 = the code after it is live, 2 = dead (until the enclosing block ends). */
const ENDS = new Uint8Array(256);
for (const op of [LOOP, IF, ELSE, END, BR_IF, CALL, CALL_INDIRECT]) ENDS[op] = 1;
for (const op of [BR, BR_TABLE, RETURN, UNREACHABLE, RETURN_CALL, RETURN_CALL_INDIRECT]) ENDS[op] = 2;

export class BodyRewriter extends MeterCode {
  /** Whether any rewritten body takes a function reference (`ref.func`). */
  sawRefFunc = false;
  /** NaN canonicalization's scratch locals (f32, f64, v128), declared only when the body used them. */
  private readonly nan: NanScratch = { f32: 0, f64: 0, v128: 0 };
  private usedNan = false;

  constructor(ctx: BodyContext) {
    super(ctx);
  }

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
    // the profiling variant's hooks: this function's index in the original module
    const hooks = self >= 0 ? ctx.profile : null;
    const original = ctx.importedFuncs + self;
    // one exit after the result block (fuel stored back, frame given back, exit hook): `return` branches there
    const epilogue = local || frame > 0 || hooks !== null;
    // entered before its frame and entry charges: what they cost, and a trap in them, are the function's
    if (hooks) emitHook(out, hooks.enter, original, ctx.gFuel);
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
        trace.inOffsets.push(at);
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
            if (hooks) emitHook(seg, hooks.exit, original, ctx.gFuel);
            seg.byte(RETURN); // the fuel global is current (syncIn): not through the epilogue
            copyFrom = r.pos;
          } else if (tail && (local || frame || hooks)) {
            // the callee replaces this frame (V8 drops it) and charges its own at its entry
            seg.bytes(bytes, copyFrom, at);
            if (local) this.flushFuel(seg); // the callee loads the fuel at its entry
            if (frame) this.stackLeave(seg, frame);
            if (hooks) emitHook(seg, hooks.exit, original, ctx.gFuel); // this frame ends here
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
          if (callee >= ctx.importedFuncs && ctx.funcShift && !(tail && sync)) {
            // a defined callee moved up past the profiling hooks
            seg.bytes(bytes, copyFrom, at);
            seg.byte(op).u32(callee + ctx.funcShift);
            copyFrom = r.pos;
          }
        } else if (op === RETURN && epilogue) {
          // to the result block, whose end is followed by the epilogue
          seg.bytes(bytes, copyFrom, at);
          seg.byte(BR).u32(depth);
          copyFrom = r.pos;
        } else if (op === REF_FUNC) {
          this.sawRefFunc = true;
          const f = r.u32();
          const to = ctx.refRemap?.get(f) ?? (f >= ctx.importedFuncs && ctx.funcShift ? f + ctx.funcShift : undefined);
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

    // The trap blocks (see `MeterCode.trapIf`): the body, whose final `end` now closes the result block, is
    // followed by `return` and the trap code that the checks branch to.
    const wrapOof = ctx.fuel; // every function charges its entry, so it uses the out-of-fuel block
    const wrapSo = this.usedSo;
    let prefixLen = 0;
    if (wrapOof || wrapSo || hooks) {
      prefixLen = (wrapSo ? 2 : 0) + (wrapOof ? 2 : 0) + 1 + blockType.length;
      if (local) this.flushFuel(out);
      if (frame) this.stackLeave(out, frame);
      if (hooks) emitHook(out, hooks.exit, original, ctx.gFuel);
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