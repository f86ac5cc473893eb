/**
 * The functions instrumenting appends after a module's own: the `memory.grow` replacement, the entry
 * wrappers (syncing the module's copies of the meter, or in standalone mode starting a new top-level
 * call afresh), and the standalone `__meter_reset`.
 */
import { ByteWriter } from './leb.js';
import { MeterFlag } from './meter-abi.js';
import { ValType } from './module.js';
import type { BodyContext } from './body-context.js';

/**
 * An entry wrapper: load the module's fuel and stack budget from the shared meter, call the function,
 * store them back. Entries from outside (exports, start, escaping references) go through it, so the
 * module's own code works on fast defined globals and the shared meter is exact whenever control is
 * outside. The wrapper's own small frame is covered by the crossing cost (or the host's reserve).
 */
export function wrapperBody(f: number, params: number, ctx: BodyContext): Uint8Array {
  const s = ctx.sync!;
  const w = new ByteWriter(40 + params * 2);
  w.u32(0); // no locals
  w.byte(0x23).u32(s.fuel).byte(0x24).u32(ctx.gFuel);
  w.byte(0x23).u32(s.stack).byte(0x24).u32(ctx.gStack);
  for (let i = 0; i < params; i++) w.byte(0x20).u32(i);
  w.byte(0x10).u32(f);
  w.byte(0x23).u32(ctx.gFuel).byte(0x24).u32(s.fuel);
  w.byte(0x23).u32(ctx.gStack).byte(0x24).u32(s.stack);
  w.byte(0x0b);
  return w.finish();
}

/**
 * A standalone module's entry wrapper: a call from the embedder while no import call is in progress
 * is a new top-level call, so the stack budget and the flags start afresh (an earlier call that
 * trapped left them where the trap struck).
 */
export function standaloneWrapperBody(f: number, params: number, stackBytes: number, ctx: BodyContext): Uint8Array {
  const w = new ByteWriter(40 + params * 2);
  w.u32(0);
  w.byte(0x23).u32(ctx.importCalls!.count).byte(0x45); // global.get calls; i32.eqz
  w.byte(0x04).byte(0x40);
  w.byte(0x41).s32(stackBytes).byte(0x24).u32(ctx.gStack);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.gFlags);
  w.byte(0x0b);
  for (let i = 0; i < params; i++) w.byte(0x20).u32(i);
  w.byte(0x10).u32(f);
  w.byte(0x0b);
  return w.finish();
}

/** `__meter_reset`: no import call in progress, the whole stack budget, no flags (fuel is the embedder's to set). */
export function resetBody(stackBytes: number, ctx: BodyContext): Uint8Array {
  const w = new ByteWriter(24);
  w.u32(0);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.importCalls!.count);
  w.byte(0x41).s32(stackBytes).byte(0x24).u32(ctx.gStack);
  w.byte(0x41).s32(0).byte(0x24).u32(ctx.gFlags);
  w.byte(0x0b);
  return w.finish();
}

/**
 * The appended `memory.grow` replacement: refuse (flagged) beyond the page budget, else grow, and
 * charge 1 fuel per page added when the grow succeeds (wasmtime's rule). Callers keeping the fuel in
 * a local store it to `gFuel` before the call and reload it after.
 */
export function growBody(ctx: BodyContext, budget: boolean): Uint8Array {
  const { gPages, gFlags, gFuel } = ctx;
  const w = new ByteWriter(96);
  w.u32(1).u32(1).byte(ValType.i32); // one extra i32 local: the grow result
  if (budget) {
    w.byte(0x20).u32(0); // local.get delta
    w.byte(0x23).u32(gPages);
    w.byte(0x4b); // i32.gt_u
    w.byte(0x04).byte(0x40); // if
    w.byte(0x23).u32(gFlags).byte(0x41).s32(MeterFlag.growRefused).byte(0x72).byte(0x24).u32(gFlags);
    w.byte(0x41).s32(-1).byte(0x0f); // i32.const -1; return
    w.byte(0x0b);
  }
  w.byte(0x20).u32(0).byte(0x40).byte(0x00); // local.get delta; memory.grow 0
  w.byte(0x22).u32(1); // local.tee result
  w.byte(0x41).s32(-1).byte(0x47); // i32.ne
  w.byte(0x04).byte(0x40);
  if (budget) w.byte(0x23).u32(gPages).byte(0x20).u32(0).byte(0x6b).byte(0x24).u32(gPages); // pages -= delta
  if (ctx.fuel) {
    // fuel -= delta; out of fuel when it went negative
    w.byte(0x23).u32(gFuel).byte(0x20).u32(0).byte(0xad).byte(0x7d).byte(0x24).u32(gFuel);
    w.byte(0x23).u32(gFuel).byte(0x42).byte(0).byte(0x53); // i64.lt_s
    w.byte(0x04).byte(0x40);
    w.byte(0x23).u32(gFlags).byte(0x41).s32(MeterFlag.outOfFuel).byte(0x72).byte(0x24).u32(gFlags);
    w.byte(0x00);
    w.byte(0x0b);
  }
  w.byte(0x0b);
  w.byte(0x20).u32(1); // result
  w.byte(0x0b);
  return w.finish();
}
