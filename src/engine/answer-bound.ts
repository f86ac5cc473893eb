/**
 * How large one execution's answer (its POST /execute 200 body) can be, from the output limits alone.
 * A batch reserves this much before it starts a call, so that its whole answer stays within its byte
 * budget (docs/API.md) without ever dropping the answer of a call that ran.
 */
import type { OutputLimits } from './host-abi.js';

/** Bytes each Iroha record (instruction, query, data model, verdict) counts on top of its own. */
export const RECORD_OVERHEAD_BYTES = 16;
/** What the output limits do not cover: fuel, memory, modules, link, timings, values, an engine message. */
const FIXED_BYTES = 64 * 1024;
/** JSON's worst case per byte of text: a control character is written `\u00XX`. */
const JSON_ESCAPE = 6;
/** A log line's JSON around its message, and the "… (truncated)" mark. */
const LINE_OVERHEAD = 64;

/**
 * The largest answer one execution can give: `result.output` (or the Iroha records, which share its
 * limit, counted with their overhead) as base64, every log line and the dropped-lines notice escaped at
 * worst, and two messages capped like a log line (a panic's, an executor verdict's).
 */
export function maxAnswerBytes(o: OutputLimits): number {
  const line = o.maxLogLineBytes * JSON_ESCAPE + LINE_OVERHEAD;
  return FIXED_BYTES + Math.ceil(o.maxOutputBytes / 3) * 4 + (o.maxLogLines + 1) * line + 2 * line;
}

/** Bytes of `entry` as JSON, as the answer carries it. */
export function answerBytes(entry: unknown): number {
  return Buffer.byteLength(JSON.stringify(entry));
}
