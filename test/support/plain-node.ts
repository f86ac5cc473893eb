/**
 * How the tests start processes that run node (servers, the CLI, npm, children pinned to a V8 tier):
 * without tap's process-info hook. tap (@tapjs/processinfo) puts its `--import` in NODE_OPTIONS of every
 * process a test spawns, whatever `env` the test passes; in the child it runs for every module load and
 * in every worker thread, which doubles to quadruples the CPU of a server start or a CLI run. Under
 * `npm test` (coverage off) such children start through `env -u NODE_OPTIONS`; under
 * `npm run test:coverage` they keep the hook, so that the code they run counts in the coverage.
 */
const keepHook = process.env.TAP === '1' && process.env.TAP_DISABLE_COVERAGE !== '1';

/** [command, args] for `command ...args` without tap's hook in NODE_OPTIONS (see above). */
export function plain(command: string, args: readonly string[]): [string, string[]] {
  return keepHook ? [command, [...args]] : ['env', ['-u', 'NODE_OPTIONS', command, ...args]];
}

/** [command, args] for `node ...args` (this node) without tap's hook. */
export const plainNode = (args: readonly string[]): [string, string[]] => plain(process.execPath, args);
