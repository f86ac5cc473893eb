/**
 * What an Iroha module's trap likely means. Iroha's modules answer a context they cannot decode, or a
 * query refused, with a bare `unreachable` (their panics abort); the message then says the likely
 * cause and what to give instead (docs/IROHA.md). The outcome's kind and fuel are not touched.
 */
import type { Outcome } from '../../outcome.js';
import type { IrohaState } from './abi.js';

/** What each entrypoint takes as `iroha.context` (docs/IROHA.md, One entrypoint per request). */
const CONTEXTS: Record<string, string> = {
  _iroha_smart_contract_main: 'SmartContractContext { authority: AccountId, curr_block: BlockHeader }',
  _iroha_trigger_main: 'TriggerContext { id, authority, curr_block, event: EventBox }',
  _iroha_executor_migrate: 'ExecutorContext { authority, curr_block }',
  _iroha_executor_execute_transaction: 'Validate<SignedTransaction> { context: ExecutorContext, target }',
  _iroha_executor_execute_instruction: 'Validate<InstructionBox> { context: ExecutorContext, target }',
  _iroha_executor_validate_query: 'Validate<AnyQueryBox> { context: ExecutorContext, target }',
};

export const REFUSED_QUERY_HINT =
  "the module's last query was refused (NotPermitted: no query source): give its answer in `iroha.queryResponses` or a peer in `iroha.callback`";

/** What `iroha.context` must hold for `entry`. */
export function contextShape(entry: string): string {
  const type = CONTEXTS[entry];
  return `\`iroha.context\` for \`${entry}\` is the base64 of ${type ? `a SCALE-encoded \`${type}\`` : "its argument's SCALE bytes"}, without the length prefix: \`wasm-runner iroha-context\` builds one from JSON (docs/IROHA.md)`;
}

/**
 * A wasm trap inside the entrypoint, with its likely cause appended: the last query refused for want
 * of a source, else a context that is empty or that the module trapped on before any host call.
 */
export function explainTrap(outcome: Outcome, error: unknown, state: IrohaState, entered: boolean): Outcome {
  if (outcome.kind !== 'trap' || !(error instanceof WebAssembly.RuntimeError) || !entered) return outcome;
  if (state.lastQueryRefused) return { ...outcome, message: `${outcome.message}; ${REFUSED_QUERY_HINT}` };
  if (state.input.context.length === 0) {
    return { ...outcome, message: `${outcome.message}; the context is empty: ${contextShape(state.entrypoint)}` };
  }
  if (state.hostCalls === 0) {
    return { ...outcome, message: `${outcome.message}; the module trapped before any host call, as it does on a context it cannot decode: ${contextShape(state.entrypoint)}` };
  }
  return outcome;
}
