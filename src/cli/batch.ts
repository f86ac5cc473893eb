/**
 * `batch FILE.json`: several `run`s in order, answered together as POST /execute/batch answers: the
 * file is a JSON array of `run` argument lists, e.g. [["kv.wasm", "--lib", "library.wasm"], ["hello.wasm"]];
 * prints `{ "results": [...] }`, each the body `run` prints, or `{ status, error }` where `run` would
 * exit 2 (with the status POST /execute would answer). The calls share nothing.
 */
import { badRequest, RequestError } from '../engine/errors.js';
import { HELP, parseRunArgs } from './args.js';
import { readText } from './files.js';
import { EXIT, printJson } from './output.js';
import { type JobAnswer, answerJob, makeJob } from './run.js';
import { BATCH_USAGE } from './usage.js';

/** The status POST /execute answers for each request error kind. */
const STATUS: Record<string, number> = { bad_request: 400, not_found: 404, too_large: 413, invalid_module: 422, link_error: 422, policy_violation: 422 };
const MAX_CALLS = 10_000;

export async function batchCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(BATCH_USAGE);
    return EXIT.ok;
  }
  if (argv.length !== 1) throw badRequest('`batch` needs one FILE.json (a JSON array of `run` argument lists; see --help)');
  const results: unknown[] = [];
  let code: number = EXIT.ok;
  for (const { answer } of await runCalls(readCalls(argv[0]!))) {
    if ('result' in answer) results.push(answer.result);
    else results.push({ status: STATUS[answer.requestError.kind] ?? 400, error: answer.requestError });
    if (answer.code !== EXIT.ok) code = EXIT.outcome;
  }
  printJson({ results });
  return code;
}

/** FILE: a JSON array of 1 to MAX_CALLS `run` argument lists. */
export function readCalls(path: string): string[][] {
  let list: unknown;
  try {
    list = JSON.parse(readText(path, 'FILE'));
  } catch (e) {
    if (e instanceof RequestError) throw e;
    throw badRequest(`FILE is not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_CALLS || !list.every((c) => Array.isArray(c) && c.every((x) => typeof x === 'string'))) {
    throw badRequest(`FILE must be a JSON array of 1 to ${MAX_CALLS} \`run\` argument lists (arrays of strings)`);
  }
  return list as string[][];
}

/**
 * Each call run in order as `run` runs it (its own worker thread); a refused call is a request error
 * answer. `profile`: each with a fuel profile (the JSON object; a call's own --profile file is refused).
 */
export async function runCalls(list: string[][], profile = false): Promise<Array<{ args: string[]; answer: Exclude<JobAnswer, { internal: string }> }>> {
  const out: Array<{ args: string[]; answer: Exclude<JobAnswer, { internal: string }> }> = [];
  for (const [i, args] of list.entries()) {
    let answer: JobAnswer;
    try {
      const parsed = parseRunArgs(args);
      if (parsed === HELP) throw badRequest(`call ${i}: --help is not a call`);
      if (parsed.profile) throw badRequest(`call ${i}: --profile FILE is for \`run\` (\`snapshot --profile\` profiles every call)`);
      answer = await answerJob({ ...makeJob(parsed), ...(profile ? { fuelProfile: { format: 'json' as const } } : {}) });
    } catch (e) {
      if (!(e instanceof RequestError)) throw e;
      answer = { requestError: { kind: e.kind, message: e.message }, code: EXIT.request };
    }
    if ('internal' in answer) throw new Error(`call ${i}: ${answer.internal}`);
    out.push({ args, answer });
  }
  return out;
}
