/** `instrument`: write a standalone metered module (the meter inside, `__fuel` exported). */
import { DEFAULT_ENGINE_CONFIG } from '../engine/defaults.js';
import { policyViolation } from '../engine/errors.js';
import { inspect } from '../engine/prepare.js';
import { instrument } from '../wasm/instrument.js';
import { HELP, parseInstrumentArgs } from './args.js';
import { readBytes, writeBytes } from './files.js';
import { EXIT } from './output.js';
import { INSTRUMENT_USAGE } from './usage.js';

export function instrumentCommand(argv: string[]): number {
  const a = parseInstrumentArgs(argv);
  if (a === HELP) {
    process.stdout.write(INSTRUMENT_USAGE);
    return EXIT.ok;
  }
  const bytes = readBytes(a.input, 'IN');
  inspect(bytes); // invalid_module naming what is wrong
  const stackBytes = DEFAULT_ENGINE_CONFIG.maxStackBytes;
  const out = instrument(bytes, { standalone: { fuel: a.fuel, stackBytes } });
  if (!WebAssembly.validate(out as BufferSource)) {
    let why = 'the metered module does not validate';
    try {
      new WebAssembly.Module(out as BufferSource);
    } catch (e) {
      why = (e as Error).message;
    }
    throw policyViolation(`module cannot be metered: ${why}`);
  }
  writeBytes(a.output, out, 'OUT');
  process.stderr.write(`instrumented ${a.input} (${bytes.length} bytes) -> ${a.output} (${out.length} bytes): fuel ${a.fuel}, stack budget ${stackBytes} bytes, exported as \`__fuel\`\n`);
  return EXIT.ok;
}
