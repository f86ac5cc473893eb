/** What the CLI prints, and its exit codes. */
import { RequestError } from '../engine/errors.js';

export const EXIT = { ok: 0, outcome: 1, request: 2, internal: 3 } as const;

export function printJson(body: unknown): void {
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

export function errorBody(kind: string, message: string): { error: { kind: string; message: string } } {
  return { error: { kind, message } };
}

/** A request error: its 4xx body on stdout, exit 2. */
export function printRequestError(e: { kind: string; message: string }): number {
  printJson(errorBody(e.kind, e.message));
  return EXIT.request;
}

/** A bug: a one-object JSON line on stderr (never a stack dump on stdout), exit 3. */
export function printInternal(message: string): number {
  process.stderr.write(`${JSON.stringify(errorBody('internal', message))}\n`);
  return EXIT.internal;
}

/** Maps anything a command threw to its output and exit code. */
export function reportThrown(e: unknown): number {
  if (e instanceof RequestError) return printRequestError(e);
  return printInternal(e instanceof Error ? e.message : String(e));
}
