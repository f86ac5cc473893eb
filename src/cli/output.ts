/** What the CLI prints, and its exit codes. */
import { RequestError } from '../engine/errors.js';
import type { Frame } from '../engine/frames.js';

export const EXIT = { ok: 0, outcome: 1, request: 2, internal: 3 } as const;

export function printJson(body: unknown): void {
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
}

export function errorBody(kind: string, message: string): { error: { kind: string; message: string } } {
  return { error: { kind, message } };
}

/**
 * An outcome's frames as a backtrace on stderr (stdout keeps only the JSON body), in wasmtime's layout:
 * `    0: 0x2a - contract!name`, the source position on the next line when known.
 */
export function printBacktrace(error: { kind: string; message: string; frames?: Frame[]; framesOmitted?: number } | null): void {
  if (!error?.frames?.length) return;
  const lines = [`error: ${error.kind}: ${error.message}`, 'wasm backtrace:'];
  error.frames.forEach((f, i) => {
    lines.push(`${String(i).padStart(5)}: ${`0x${f.offset.toString(16)}`.padStart(8)} - ${f.module}!${f.name ?? `<wasm function ${f.index}>`}`);
    if (f.file !== null) lines.push(`${' '.repeat(20)}at ${f.file}${f.line !== null ? `:${f.line}` : ''}${f.column ? `:${f.column}` : ''}`);
  });
  if (error.framesOmitted) lines.push(`  … ${error.framesOmitted} more frames`);
  process.stderr.write(`${lines.join('\n')}\n`);
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
