/** `inspect`: a module's structure as JSON, signatures as text. */
import { inspect } from '../engine/prepare.js';
import { formatFuncType } from '../wasm/module.js';
import { HELP, parseInspectArgs } from './args.js';
import { readBytes } from './files.js';
import { EXIT, printJson } from './output.js';
import { INSPECT_USAGE } from './usage.js';

export function inspectCommand(argv: string[]): number {
  const a = parseInspectArgs(argv);
  if (a === HELP) {
    process.stdout.write(INSPECT_USAGE);
    return EXIT.ok;
  }
  const { info } = inspect(readBytes(a.module, 'MODULE'));
  const sig = <T extends { type?: Parameters<typeof formatFuncType>[0] }>(x: T) => ({ ...x, ...(x.type ? { type: formatFuncType(x.type) } : {}) });
  printJson({
    hash: info.hash,
    bytes: info.bytes,
    imports: info.imports.map(sig),
    exports: info.exports.map(sig),
    memoryPages: info.memoryPages,
    ffi: info.ffi,
    layout: info.layout,
  });
  return EXIT.ok;
}
