/**
 * The stack guard of shared linking: two Rust runtimes in one memory put the library's stack right
 * above the contract's data, so a deep library recursion would silently overwrite that data. Every
 * write to a guarded stack pointer is checked first: a value below the floor (the end of what lies
 * beneath the stack) sets the meter's `stackGuard` flag and traps before any byte below the floor is
 * written by the new frame. The comparison is signed, so a stack pointer wrapping below address 0
 * is caught too (memories here stay below 2 GiB).
 */
import type { ByteWriter } from './leb.js';
import { MeterFlag } from './meter-abi.js';

export interface StackGuard {
  /** Global index of the stack pointer (after the meter's imports were added). */
  sp: number;
  /** Global index of the immutable i32 floor. */
  floor: number;
}

/**
 * Emits `global.set $sp` with the check in front; the new value is on the stack, `scratch` is a free
 * i32 local. The charge for the original `global.set` stays with its block (fuel is unchanged).
 */
export function emitGuardedSet(w: ByteWriter, g: StackGuard, scratch: number, flags: number): void {
  w.byte(0x22).u32(scratch); // local.tee new
  w.byte(0x23).u32(g.floor); // global.get floor
  w.byte(0x48); // i32.lt_s
  w.byte(0x04).byte(0x40); // if
  w.byte(0x23).u32(flags).byte(0x41).s32(MeterFlag.stackGuard).byte(0x72).byte(0x24).u32(flags);
  w.byte(0x00); // unreachable
  w.byte(0x0b);
  w.byte(0x20).u32(scratch); // local.get new
  w.byte(0x24).u32(g.sp); // global.set sp
}
