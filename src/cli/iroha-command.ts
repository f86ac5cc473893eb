/**
 * `iroha-context FILE.json|-` and `iroha-answer FILE.json|-`: the Iroha profile's SCALE inputs built from
 * readable JSON (src/cli/iroha/), printed as hex and base64 — and, for a context with `--request
 * MODULE.wasm`, as the whole POST /execute body.
 */
import { createHash } from 'node:crypto';
import { badRequest } from '../engine/errors.js';
import { HELP, parseIrohaInputArgs } from './args.js';
import { readBytes, readTextOrStdin } from './files.js';
import { parseAnswer } from './iroha/answers.js';
import { type BuiltContext, buildContext } from './iroha/context.js';
import { type At, array, isObject, root } from './iroha/json-read.js';
import { EXIT, printJson } from './output.js';
import { IROHA_ANSWER_USAGE, IROHA_CONTEXT_USAGE } from './usage.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/** The JSON of FILE (or stdin for `-`), with the name errors give it. */
export function readJsonInput(file: string, what: string): At {
  const source = file === '-' ? 'stdin' : file;
  const text = readTextOrStdin(file, what);
  try {
    return root(JSON.parse(text), source);
  } catch (e) {
    throw badRequest(`${source} is not JSON: ${(e as Error).message}`);
  }
}

/** The request's `iroha` object: base64 of the context and of the answers. */
export function irohaObject(c: BuiltContext): { context: string; queryResponses?: string[] } {
  return { context: base64(c.context), ...(c.queryResponses ? { queryResponses: c.queryResponses.map(base64) } : {}) };
}

/** The context file of `run --iroha-context` and of `iroha-context`. */
export function readContext(file: string, what: string): BuiltContext {
  return buildContext(readJsonInput(file, what));
}

export function irohaContextCommand(argv: string[]): number {
  const a = parseIrohaInputArgs(argv, 'iroha-context', ['request']);
  if (a === HELP) {
    process.stdout.write(IROHA_CONTEXT_USAGE);
    return EXIT.ok;
  }
  const c = readContext(a.file, 'FILE');
  if (a.request !== undefined) {
    const hash = createHash('sha256').update(readBytes(a.request, '--request')).digest('hex');
    printJson({ contract: { hash }, entrypoint: c.entrypoint, iroha: irohaObject(c) });
  } else {
    printJson({ kind: c.kind, entrypoint: c.entrypoint, hex: hex(c.context), base64: base64(c.context), iroha: irohaObject(c) });
  }
  return EXIT.ok;
}

export function irohaAnswerCommand(argv: string[]): number {
  const a = parseIrohaInputArgs(argv, 'iroha-answer', []);
  if (a === HELP) {
    process.stdout.write(IROHA_ANSWER_USAGE);
    return EXIT.ok;
  }
  const at = readJsonInput(a.file, 'FILE');
  if (Array.isArray(at.value)) {
    const list = array(at, 'answers').map((x) => parseAnswer(x).bytes);
    printJson({ hex: list.map(hex), base64: list.map(base64) });
  } else {
    if (!isObject(at.value)) throw badRequest(`${at.source}: $: expected an answer object or a JSON array of them`);
    const { bytes } = parseAnswer(at);
    printJson({ hex: hex(bytes), base64: base64(bytes) });
  }
  return EXIT.ok;
}
