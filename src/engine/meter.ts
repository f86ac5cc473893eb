/** The shared meter of one execution: the globals every instrumented module imports. */
import { HOOK_EXPORTS, METER_GLOBALS, METER_MODULE, MeterFlag } from '../wasm/meter-abi.js';
import { HostOutOfFuel } from './errors.js';

export class Meter {
  readonly fuel: WebAssembly.Global;
  /** Bytes of the stack budget left (docs/ABI.md, Stack). */
  readonly stack: WebAssembly.Global;
  readonly pages: WebAssembly.Global;
  readonly flags: WebAssembly.Global;

  constructor(
    readonly fuelLimit: bigint,
    readonly stackBytes: number,
    pageBudget: number,
  ) {
    this.fuel = new WebAssembly.Global({ value: 'i64', mutable: true }, fuelLimit);
    this.stack = new WebAssembly.Global({ value: 'i32', mutable: true }, stackBytes);
    this.pages = new WebAssembly.Global({ value: 'i32', mutable: true }, pageBudget);
    this.flags = new WebAssembly.Global({ value: 'i32', mutable: true }, 0);
  }

  imports(): WebAssembly.ModuleImports {
    return {
      [METER_GLOBALS.fuel]: this.fuel,
      [METER_GLOBALS.stack]: this.stack,
      [METER_GLOBALS.pages]: this.pages,
      [METER_GLOBALS.flags]: this.flags,
    };
  }

  get importObject(): Record<string, WebAssembly.ModuleImports> {
    return { [METER_MODULE]: this.imports() };
  }

  flag(bit: number): boolean {
    return ((this.flags.value as number) & bit) !== 0;
  }

  get outOfFuel(): boolean {
    return this.flag(MeterFlag.outOfFuel) || (this.fuel.value as bigint) < 0n;
  }

  /** Fuel consumed so far (the limit once exhausted). */
  consumed(): bigint {
    const left = this.fuel.value as bigint;
    // a bulk operator refused up front flags out-of-fuel without spending: report the limit all the same
    return left < 0n || this.flag(MeterFlag.outOfFuel) ? this.fuelLimit : this.fuelLimit - left;
  }

  /** Host-side charge (bytes copied by the host): out of fuel ends the execution. */
  charge(n: number): void {
    if (n <= 0) return;
    const left = (this.fuel.value as bigint) - BigInt(n);
    if (left < 0n) {
      this.fuel.value = -1n;
      this.flags.value = (this.flags.value as number) | MeterFlag.outOfFuel;
      throw new HostOutOfFuel();
    }
    this.fuel.value = left;
  }

  /**
   * Brings the shared fuel up to date: each module works on its own copy between entries and exits,
   * so after a trap the truth is the least of the shared value and the modules' copies.
   */
  settle(instances: Array<WebAssembly.Instance | undefined>): void {
    let left = this.fuel.value as bigint;
    for (const i of instances) {
      const copy = i?.exports[HOOK_EXPORTS.fuel];
      if (copy instanceof WebAssembly.Global && (copy.value as bigint) < left) left = copy.value as bigint;
    }
    this.fuel.value = left;
  }

  /** Gives back fuel charged up front for operators a trap kept from running. */
  refund(n: number): void {
    if (n <= 0) return;
    const left = (this.fuel.value as bigint) + BigInt(n);
    this.fuel.value = left > this.fuelLimit ? this.fuelLimit : left;
  }
}
