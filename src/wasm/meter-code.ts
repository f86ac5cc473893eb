/**
 * The metering code the body rewriter (instrument-body.ts) places in a function body: fuel charges, the
 * trap blocks they branch to, the stack budget's checks, the sync of the module's copies of the meter
 * around calls that may leave it, and the per-element charges of bulk operators. The rewriter extends
 * this class: the scratch locals and the buffers are the body's being rewritten.
 */
import { ByteWriter } from './leb.js';
import { MeterFlag } from './meter-abi.js';
import { type BodyContext, BR_IF, END, GLOBAL_GET, GLOBAL_SET, IF, UNREACHABLE } from './body-context.js';

export abstract class MeterCode {
  /** The rewritten body, segment by segment. */
  protected readonly out = new ByteWriter(1024);
  /** The current segment, until its charge is placed before it. */
  protected readonly seg = new ByteWriter(1024);
  /** Scratch locals appended after the body's own: fuel (i64), then two i32. */
  protected scratch64 = 0;
  protected scratch32 = 0;
  /** A second i32 scratch: the result of `table.grow`, while its delta sits in `scratch32`. */
  protected scratch32b = 0;
  /** Whether the body being rewritten checks the stack budget (and so needs the stack-overflow trap block). */
  protected usedSo = false;

  constructor(protected readonly ctx: BodyContext) {}

  /** fuel -= cost; trap (flagged out of fuel) when it went negative. `at`: the nesting where it is placed. */
  protected charge(cost: number, at: number, reload = false): void {
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
  protected trapIf(w: ByteWriter, flag: number, at: number): void {
    let label = at + 1;
    if (flag === MeterFlag.stackOverflow) {
      this.usedSo = true;
      if (this.ctx.fuel) label++;
    }
    w.byte(BR_IF).u32(label);
  }

  /** The code a trap block's `end` is followed by: close it, set `flag`, trap. */
  protected trapCode(w: ByteWriter, flag: number): void {
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
  protected stackEnter(w: ByteWriter, bytes: number, at: number): void {
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
  protected stackLeave(w: ByteWriter, bytes: number): void {
    const { ctx } = this;
    w.byte(GLOBAL_GET).u32(ctx.gStack);
    w.byte(0x41).s32(bytes);
    w.byte(0x6a); // i32.add
    w.byte(GLOBAL_SET).u32(ctx.gStack);
  }

  /** fuel global ← the function's fuel local (before a call or an exit). */
  protected flushFuel(w: ByteWriter): void {
    w.byte(0x20).u32(this.scratch64).byte(GLOBAL_SET).u32(this.ctx.gFuel);
  }

  /** the function's fuel local ← fuel global (at entry, after a call). */
  protected reloadFuel(w: ByteWriter): void {
    w.byte(GLOBAL_GET).u32(this.ctx.gFuel).byte(0x21).u32(this.scratch64);
  }

  /** Before a call that may leave the module: publish this module's fuel and stack budget to the shared meter. */
  protected syncOut(w: ByteWriter): void {
    const { ctx } = this;
    if (ctx.importCalls) return this.countImportCall(w, 0x6a);
    const s = ctx.sync!;
    w.byte(GLOBAL_GET).u32(ctx.gFuel).byte(GLOBAL_SET).u32(s.fuel);
    w.byte(GLOBAL_GET).u32(ctx.gStack).byte(GLOBAL_SET).u32(s.stack);
  }

  /** After it returned: take back what the callee (or the host) left in the shared meter. */
  protected syncIn(w: ByteWriter): void {
    const { ctx } = this;
    if (ctx.importCalls) return this.countImportCall(w, 0x6b);
    const s = ctx.sync!;
    w.byte(GLOBAL_GET).u32(s.fuel).byte(GLOBAL_SET).u32(ctx.gFuel);
    w.byte(GLOBAL_GET).u32(s.stack).byte(GLOBAL_SET).u32(ctx.gStack);
  }

  /** Standalone mode: import calls in progress += 1 (`i32.add`) or -= 1 (`i32.sub`). */
  protected countImportCall(w: ByteWriter, op: number): void {
    const g = this.ctx.importCalls!.count;
    w.byte(GLOBAL_GET).u32(g).byte(0x41).byte(1).byte(op).byte(GLOBAL_SET).u32(g);
  }

  /** n on the stack: trap (out of fuel) when n exceeds the fuel left; keeps n in the i32 scratch. */
  protected bulkCheck(at: number): void {
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
  protected tableGrowCharge(at: number): void {
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
  protected bulkCharge(): void {
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
