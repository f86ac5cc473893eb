#!/usr/bin/env node
/** Entry of the `wasm-runner` command: dispatch to a command, map what it threw to output and exit code. */
import { instrumentCommand } from './instrument.js';
import { inspectCommand } from './inspect.js';
import { EXIT, reportThrown } from './output.js';
import { runCommand } from './run.js';
import { batchCommand } from './batch.js';
import { snapshotCommand } from './snapshot.js';
import { irohaAnswerCommand, irohaContextCommand } from './iroha-command.js';
import { MAIN_USAGE } from './usage.js';

const COMMANDS: Record<string, (argv: string[]) => number | Promise<number>> = {
  run: runCommand,
  batch: batchCommand,
  snapshot: snapshotCommand,
  instrument: instrumentCommand,
  inspect: inspectCommand,
  'iroha-context': irohaContextCommand,
  'iroha-answer': irohaAnswerCommand,
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(MAIN_USAGE);
    return EXIT.ok;
  }
  const fn = command === undefined ? undefined : COMMANDS[command];
  if (!fn) {
    if (command !== undefined) process.stderr.write(`wasm-runner: unknown command \`${command}\`\n\n`);
    process.stderr.write(MAIN_USAGE);
    return EXIT.request;
  }
  try {
    return await fn(rest);
  } catch (e) {
    return reportThrown(e);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e) => {
    process.stderr.write(`${JSON.stringify({ error: { kind: 'internal', message: String(e) } })}\n`);
    process.exitCode = EXIT.internal;
  },
);
