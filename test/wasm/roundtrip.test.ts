/**
 * Reader/writer round trips and instrumenter output on every valid module of the spec suite
 * (../shared/wasm-spec; skipped with the reason when absent) and on examples/wasm:
 * - readModule + assemble (no replacement) gives the input back byte for byte;
 * - reencodeModule (every known section re-encoded from the model) gives the input back byte for
 *   byte when the input is canonical; otherwise (padded LEBs written by hand in the suite's
 *   `(module binary ...)` cases) the output is shorter, reads back to an equal model and validates;
 * - instrument() output passes WebAssembly.validate, in the engine's configuration and standalone.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { instrument } from '../../src/wasm/instrument.js';
import type { Range, WasmModule } from '../../src/wasm/module.js';
import { readModule } from '../../src/wasm/reader.js';
import { assemble, reencodeModule } from '../../src/wasm/writer.js';
import { listScripts, repoRoot, specRoot } from '../support/spec-files.js';

const hex = (b: Uint8Array, r: Range | null) => (r ? Buffer.from(b.subarray(r.start, r.end)).toString('hex') : null);
const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;

/** The decoded content of a module, without byte offsets (equal for two encodings of one module). */
export function modelOf(m: WasmModule): unknown {
  const b = m.bytes;
  return {
    version: m.version,
    sectionIds: m.sections.map((s) => s.id),
    types: m.types,
    imports: m.imports,
    functions: m.functions,
    tables: m.tables,
    memories: m.memories,
    globals: m.globals.map((g) => ({ type: g.type, init: hex(b, g.init) })),
    exports: m.exports,
    start: m.start,
    elements: m.elements.map((e) => ({ ...e, offset: hex(b, e.offset), exprs: e.exprs?.map((x) => hex(b, x)) ?? null })),
    dataCount: m.dataCount,
    code: m.code.map((c) => ({ locals: c.locals, code: hex(b, { start: c.codeStart, end: c.body.end }) })),
    data: m.data.map((d) => ({ flags: d.flags, mode: d.mode, memory: d.memory, offset: hex(b, d.offset), init: hex(b, d.init) })),
    customs: m.customs.map((c) => ({ name: c.name, payload: hex(b, c) })),
  };
}

interface Tally {
  modules: number;
  canonical: number;
  nonCanonical: string[];
  problems: string[];
}

const INSTRUMENT_ENGINE = { moduleName: 'm0123456789abcdef', hostHooks: true, ...DEFAULT_ENGINE_CONFIG.instrument };
const INSTRUMENT_STANDALONE = { standalone: { fuel: 1n << 40n, stackBytes: 1 << 20 } };

function check(name: string, bytes: Uint8Array, tally: Tally): void {
  tally.modules++;
  const problem = (what: string): void => {
    tally.problems.push(`${name}: ${what}`);
  };
  if (!WebAssembly.validate(bytes as BufferSource)) return problem('not valid to begin with');
  let m: WasmModule;
  try {
    m = readModule(bytes);
  } catch (e) {
    return problem(`readModule: ${(e as Error).message}`);
  }
  if (!same(assemble(m), bytes)) problem('readModule + assemble is not byte-identical');

  const re = reencodeModule(m);
  if (same(re, bytes)) tally.canonical++;
  else {
    tally.nonCanonical.push(`${name} (${bytes.length} -> ${re.length} B)`);
    if (re.length >= bytes.length) problem(`re-encoded differs without being shorter (${bytes.length} -> ${re.length})`);
    if (!WebAssembly.validate(re as BufferSource)) problem('re-encoded module does not validate');
    try {
      const back = readModule(re);
      t.same(modelOf(back), modelOf(m), `${name}: re-encoded reads back to an equal model`);
      if (!same(reencodeModule(back), re)) problem('re-encoding is not a fixed point');
    } catch (e) {
      problem(`re-encoded does not read back: ${(e as Error).message}`);
    }
  }

  for (const [label, opts] of [
    ['default', {}],
    ['engine', INSTRUMENT_ENGINE],
    ['standalone', INSTRUMENT_STANDALONE],
  ] as const) {
    try {
      const out = instrument(bytes, opts);
      if (!WebAssembly.validate(out as BufferSource)) {
        let why = '';
        try {
          new WebAssembly.Module(out as BufferSource);
        } catch (e) {
          why = (e as Error).message;
        }
        problem(`instrument (${label}) output does not validate: ${why}`);
      }
    } catch (e) {
      problem(`instrument (${label}) threw: ${(e as Error).message}`);
    }
  }
}

const spec = specRoot();
t.test('spec suite modules', { skip: spec ? false : '../shared/wasm-spec is absent (CI has it beside the clone)' }, async (t) => {
  const root = spec!;
  const tally: Tally = { modules: 0, canonical: 0, nonCanonical: [], problems: [] };
  let scripts = 0;
  // a module file with the same bytes as one checked already is the same check again (every step is a
  // function of the bytes): ~40% of the suite's module files repeat another's bytes
  const seen = new Set<string>();
  let files = 0;
  for (const dir of listScripts(root)) {
    scripts++;
    const name = path.basename(dir);
    const script = JSON.parse(readFileSync(path.join(dir, `${name}.json`), 'utf8')) as {
      commands: Array<{ type: string; filename?: string }>;
    };
    for (const c of script.commands) {
      // the modules a script instantiates, or expects to fail only at link or start time: all valid
      if (!['module', 'assert_unlinkable', 'assert_uninstantiable'].includes(c.type)) continue;
      if (!c.filename?.endsWith('.wasm')) continue;
      files++;
      const bytes = new Uint8Array(readFileSync(path.join(dir, c.filename)));
      const key = createHash('sha256').update(bytes).digest('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      check(c.filename, bytes, tally);
    }
  }
  t.comment(
    `${scripts} scripts, ${files} module files, ${tally.modules} distinct valid modules: ${tally.canonical} re-encode byte-identical, ` +
      `${tally.nonCanonical.length} non-canonical; every one assembled identically and instrumented 3 ways`,
  );
  t.comment(`non-canonical: ${tally.nonCanonical.join(', ')}`);
  t.ok(files > 1000, `${files} module files`);
  t.ok(tally.modules > 900, `${tally.modules} distinct modules checked`);
  t.same(tally.problems, [], 'no problems');
  t.ok(tally.canonical > tally.modules * 0.9, 'nearly all are canonical');
});

t.test('examples/wasm modules', async (t) => {
  const dir = path.join(repoRoot(), 'examples/wasm');
  const files = readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort();
  const tally: Tally = { modules: 0, canonical: 0, nonCanonical: [], problems: [] };
  for (const f of files) check(f, new Uint8Array(readFileSync(path.join(dir, f))), tally);
  t.comment(`${files.length} modules: ${tally.canonical} re-encode byte-identical; non-canonical: ${tally.nonCanonical.join(', ') || 'none'}`);
  t.ok(files.length >= 8, `${files.length} modules`);
  t.same(tally.problems, []);
});
