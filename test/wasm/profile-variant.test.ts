/**
 * The profiling variant (src/wasm/profile-hooks.ts) beside the ordinary ones: the ordinary variants are
 * byte-for-byte what the instrumenter wrote before profiling existed (so an ordinary run executes the
 * same code and pays nothing for profiles), and the profiling variant of every example validates, moves
 * every defined function up by two past its two hook imports, and keeps the name section's function
 * names on the moved functions.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import t from 'tap';
import { INSTRUMENTATION_VERSION, instrumentModule } from '../../src/wasm/instrument.js';
import { readModule } from '../../src/wasm/reader.js';
import { analyzeLayout } from '../../src/wasm/layout.js';
import { variantOptions } from '../../src/engine/prepare.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { functionNames } from '../../src/wasm/name-section.js';
import { PROFILE_HOOKS, PROFILE_SHIFT } from '../../src/wasm/profile-hooks.js';
import { METER_MODULE } from '../../src/wasm/meter-abi.js';

const DIR = new URL('../../examples/wasm/', import.meta.url);
const files = readdirSync(DIR).filter((f) => f.endsWith('.wasm')).sort();
const options = (file: string, variant: 'plain' | 'shared', localFuel: boolean, profiled = false) => {
  const m = readModule(new Uint8Array(readFileSync(new URL(file, DIR))));
  return { m, o: variantOptions({ name: 'mxxxxxxxxxxxxxxxx', settings: DEFAULT_ENGINE_CONFIG.instrument, localFuel, variant, info: { layout: analyzeLayout(m) } as never, profiled }) };
};

/**
 * sha256 over every example's four ordinary variants (plain and shared, fast and exact fuel), in file
 * order, by instrumentation version: 7 is the instrumenter of commit 15c8261, before profiling existed.
 * A deliberate change of the instrumentation bumps INSTRUMENTATION_VERSION and records its hash here.
 */
const ORDINARY: Record<number, { files: number; sha256: string }> = {
  7: { files: 12, sha256: '8f1ba47465e36e56741633cc725102879d6e2c9b435720d982a8b5252e98cb7f' },
};

t.test('the ordinary variants are the bytes they were before profiling existed', async (t) => {
  const pinned = ORDINARY[INSTRUMENTATION_VERSION];
  t.ok(pinned, `a hash recorded for instrumentation version ${INSTRUMENTATION_VERSION}`);
  if (!pinned || files.length !== pinned.files) {
    t.equal(files.length, pinned?.files, 'the examples the hash was taken over (a new example: record the hash anew)');
    return;
  }
  const h = createHash('sha256');
  for (const f of files) {
    for (const variant of ['plain', 'shared'] as const) {
      for (const localFuel of [true, false]) {
        const { m, o } = options(f, variant, localFuel);
        h.update(instrumentModule(m, o).bytes);
      }
    }
  }
  t.equal(h.digest('hex'), pinned.sha256, 'byte-identical ordinary variants');
});

t.test('the profiling variant of every example: valid, functions moved past the hooks, names kept', async (t) => {
  for (const f of files) {
    for (const variant of ['plain', 'shared'] as const) {
      const { m, o } = options(f, variant, false, true);
      const out = readModule(instrumentModule(m, o).bytes);
      t.ok(WebAssembly.validate(out.bytes as BufferSource), `${f} ${variant}: validates`);
      const imported = m.imports.filter((i) => i.kind === 'func').length;
      const hooks = out.imports.filter((i) => i.kind === 'func').slice(imported);
      t.same(
        hooks.map((h) => `${h.module}.${h.name}`),
        [`${METER_MODULE}.${PROFILE_HOOKS.enter}`, `${METER_MODULE}.${PROFILE_HOOKS.exit}`],
        `${f} ${variant}: the two hooks right after the module's function imports`,
      );
      const before = functionNames(m);
      const after = functionNames(out);
      const moved = [...before].every(([i, name]) => after.get(i < imported ? i : i + PROFILE_SHIFT) === name);
      t.ok(moved, `${f} ${variant}: ${before.size} function names on the moved indices`);
      const exportsKept = m.exports.every((e) => {
        const o2 = out.exports.find((x) => x.name === e.name);
        return o2 && o2.kind === e.kind;
      });
      t.ok(exportsKept, `${f} ${variant}: every export kept`);
    }
  }
});
