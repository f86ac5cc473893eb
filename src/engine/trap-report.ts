/**
 * What the site of a trap (outcome.ts, `trapSite`) tells beyond V8's message: whose stack the stack
 * guard stopped, and the fuel the trapping block was charged for operators that never ran.
 */
import type { Meter } from './meter.js';
import type { Outcome } from './outcome.js';
import { trapSite } from './outcome.js';
import { unexecutedFuel } from './refund.js';
import type { SharedPlan } from './linking/shared.js';
import type { ExecuteInput } from './execution-types.js';
import { hex } from '../wasm/layout.js';

/** The stack guard fired: say whose stack ran out, and where its floor was. */
export function stackGuardOutcome(e: unknown, input: ExecuteInput, plan: SharedPlan): Outcome {
  const site = trapSite(e);
  const inLibrary = !!input.library && site?.module === input.library.name;
  const stack = inLibrary ? plan.libraryStack : plan.contractStack;
  const size = stack ? `${stack.initial - stack.floor} bytes from ${hex(stack.initial)} down to ${hex(stack.floor)}` : 'unknown size';
  if (inLibrary && plan.stacks === 'two') {
    return {
      kind: 'stack_overflow',
      message: `library stack exhausted (${size}): its stack pointer would have gone below ${hex(stack!.floor)}, into the contract's data; stopped before writing there`,
    };
  }
  const whose = plan.stacks === 'one' ? `the shared stack (the contract's)` : `the contract's stack`;
  return { kind: 'stack_overflow', message: `stack exhausted: the ${inLibrary ? 'library' : 'contract'} took ${whose} to its end (${size})` };
}

/** Gives back what the trapping block was charged beyond the trap (refund.ts). */
export function refundTrap(e: unknown, input: ExecuteInput, meter: Meter): void {
  const site = trapSite(e);
  if (!site) return;
  const owner = [input.contract, input.library].find((p) => p && p.name === site.module);
  if (owner) meter.refund(unexecutedFuel(owner, site));
}
