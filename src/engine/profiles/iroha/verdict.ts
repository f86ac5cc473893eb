/**
 * An executor's verdict (docs/IROHA.md): its `execute_*` / `validate_*` entrypoint returns a pointer to
 * a length-prefixed SCALE `Result<(), ValidationFail>`, which the host reads, frees and reports.
 */
import { HostTrap } from '../../errors.js';
import type { HostState } from '../../host-abi.js';
import type { Guest } from './abi.js';
import { type IrohaVerdict, decodeVerdict, readLengthPrefixed } from './scale.js';

/** `iroha.verdict` in the answer: null for an entrypoint that returns none. */
export type VerdictReport = null | { ok: true } | { ok: false; reason: string; message?: string; scale: string };

/** An executor's answer: a length-prefixed `Result<(), ValidationFail>` at `ptr`, read and freed. */
export function readVerdict(guest: Guest, ptr: number, host: HostState): VerdictReport {
  let total: number;
  let payload: Uint8Array;
  try {
    ({ total, payload } = readLengthPrefixed(new Uint8Array(guest.memory.buffer), ptr >>> 0));
  } catch (e) {
    throw new HostTrap(`the executor returned no readable verdict at ${ptr >>> 0}: ${(e as Error).message}`);
  }
  guest.dealloc(ptr, total); // the payload is a copy: dealloc may reuse the bytes
  let v: IrohaVerdict;
  try {
    v = decodeVerdict(payload);
  } catch (e) {
    throw new HostTrap(`the executor returned a verdict that is not a Result<(), ValidationFail>: ${(e as Error).message}`);
  }
  return verdictReport(host, payload, v); // bounded: its bytes count as a record, its message is capped
}

/**
 * An executor's verdict as the answer carries it: a refusal's bytes count as a record, its message is
 * capped like a log line (both come from guest memory, as large as the module makes them).
 */
export function verdictReport(host: HostState, payload: Uint8Array, v: IrohaVerdict): VerdictReport {
  if (v.ok) return { ok: true };
  host.record(payload.length, "the executor's verdict");
  const scale = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('base64');
  return { ok: false, reason: v.reason, ...(v.message !== undefined ? { message: host.capped(v.message) } : {}), scale };
}
