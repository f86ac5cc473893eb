// `run` without a process start per case (test/cli/cli-support.ts `runHosted`): a plain node process
// (no test runner loaders, which would be inherited by, and slow down, every worker thread) that
// answers `run` argument lists through the built CLI's own functions (dist/cli), as main.js would:
// stdin, one JSON line per call: {"id", "args"}; stdout, one per answer: {"id", "code", "body"}.
import { createInterface } from 'node:readline';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
const [{ HELP, parseRunArgs }, { answerJob, makeJob }, { EXIT, errorBody }, { RequestError }] = await Promise.all(
  ['cli/args.js', 'cli/run.js', 'cli/output.js', 'engine/errors.js'].map(load),
);

/** What `wasm-runner run ARGS` prints on stdout (as an object) and its exit code. */
async function answer(args) {
  try {
    const parsed = parseRunArgs(args);
    if (parsed === HELP) return { code: EXIT.internal, error: '--help prints usage: spawn the CLI for it' };
    const a = await answerJob(makeJob(parsed));
    if ('internal' in a) return { code: a.code, error: a.internal };
    return { code: a.code, body: 'result' in a ? a.result : errorBody(a.requestError.kind, a.requestError.message) };
  } catch (e) {
    if (e instanceof RequestError) return { code: EXIT.request, body: errorBody(e.kind, e.message) };
    return { code: EXIT.internal, error: String(e?.stack ?? e) };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const { id, args } = JSON.parse(line);
  void answer(args).then((a) => process.stdout.write(`${JSON.stringify({ id, ...a })}\n`));
}
