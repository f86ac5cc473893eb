/** In-process tests of the CLI's argument parsing and validation (src/cli/args.ts). */
import t, { type Test } from 'tap';
import { HELP, parseCount, parseHex, parseInspectArgs, parseInstrumentArgs, parseJsonArgs, parseRunArgs } from '../../src/cli/args.js';
import { DEFAULT_LIMITS, MAX_LIMITS } from '../../src/engine/defaults.js';
import { RequestError } from '../../src/engine/errors.js';

function badRequest(t: Test, fn: () => unknown, pattern: RegExp): void {
  try {
    fn();
    t.fail(`expected bad_request ${pattern}`);
  } catch (e) {
    t.ok(e instanceof RequestError, 'a RequestError');
    t.equal((e as RequestError).kind, 'bad_request');
    t.match((e as Error).message, pattern);
  }
}

t.test('run: defaults', async (t) => {
  const a = parseRunArgs(['c.wasm']);
  t.not(a, HELP);
  if (a === HELP) return;
  t.same(a, {
    contract: 'c.wasm',
    lib: null,
    mode: 'bridge',
    namespace: undefined,
    ffi: null,
    entry: 'main',
    args: [],
    input: { kind: 'none' },
    limits: DEFAULT_LIMITS,
    iroha: null,
    profile: null,
  });
});

t.test('run --profile FILE: the format from the file name', async (t) => {
  const target = (f: string) => {
    const a = parseRunArgs(['c.wasm', '--profile', f]);
    return a === HELP ? null : a.profile;
  };
  t.same(target('out/kv.speedscope.json'), { path: 'out/kv.speedscope.json', format: 'speedscope', gzip: false });
  t.same(target('kv.json'), { path: 'kv.json', format: 'json', gzip: false });
  t.same(target('kv.folded'), { path: 'kv.folded', format: 'collapsed', gzip: false });
  t.same(target('kv.collapsed'), { path: 'kv.collapsed', format: 'collapsed', gzip: false });
  t.same(target('kv.pb.gz'), { path: 'kv.pb.gz', format: 'pprof', gzip: true });
  t.same(target('KV.PB'), { path: 'KV.PB', format: 'pprof', gzip: false });
  badRequest(t, () => parseRunArgs(['c.wasm', '--profile', 'kv.svg']), /--profile kv\.svg: the file name says the format/);
});

t.test('run: the Iroha profile options', async (t) => {
  const a = parseRunArgs(['m.wasm', '--iroha-context-hex', '0a0b', '--iroha-responses', 'r.json', '--iroha-callback', 'http://127.0.0.1:9/peer']);
  if (a === HELP) return t.fail('help');
  t.same(a.iroha, { context: { kind: 'hex', bytes: new Uint8Array([10, 11]) }, responses: 'r.json', callback: 'http://127.0.0.1:9/peer' });
  t.equal(a.entry, undefined, "the entrypoint defaults to the module's _iroha_*_main");
  const e = parseRunArgs(['m.wasm', '--iroha-context-hex', '', '--entry', '_iroha_executor_migrate']);
  if (e === HELP) return t.fail('help');
  t.equal(e.entry, '_iroha_executor_migrate');
  badRequest(t, () => parseRunArgs(['m.wasm', '--iroha-responses', 'r.json']), /--iroha-responses needs --iroha-context-hex/);
  badRequest(t, () => parseRunArgs(['m.wasm', '--iroha-context-hex', '00', '--lib', 'l.wasm']), /--lib does not apply to the Iroha profile/);
  badRequest(t, () => parseRunArgs(['m.wasm', '--iroha-context-hex', 'zz']), /--iroha-context-hex must be an even number of hex digits/);
  badRequest(t, () => parseRunArgs(['m.wasm', '--iroha-context-hex', '00', '--iroha-callback', 'ftp://x']), /--iroha-callback must be an http\(s\) URL/);
});

t.test('run: every option', async (t) => {
  const a = parseRunArgs([
    'c.wasm', '--lib', 'l.wasm', '--mode', 'shared', '--namespace', 'ns', '--ffi', 'f.txt', '--entry', 'go',
    '--args', '[1, "-5", 2.5]', '--input-hex', '0x00fF', '--fuel', '123', '--memory-bytes', '65536', '--timeout-ms', '77',
  ]);
  if (a === HELP) return t.fail('help');
  t.equal(a.lib, 'l.wasm');
  t.equal(a.mode, 'shared');
  t.equal(a.namespace, 'ns');
  t.equal(a.ffi, 'f.txt');
  t.equal(a.entry, 'go');
  t.same(a.args, [1, '-5', 2.5]);
  t.same(a.input, { kind: 'hex', bytes: new Uint8Array([0, 255]) });
  t.same(a.limits, { fuel: 123, memoryBytes: 65536, timeoutMs: 77 });
  const f = parseRunArgs(['c.wasm', '--input-file', 'in.bin', '--fuel=0']);
  if (f === HELP) return t.fail('help');
  t.same(f.input, { kind: 'file', path: 'in.bin' });
  t.equal(f.limits.fuel, 0);
});

t.test('run: limits at the ceilings are accepted, above are refused naming the ceiling', async (t) => {
  const a = parseRunArgs(['c.wasm', '--fuel', String(MAX_LIMITS.fuel), '--memory-bytes', String(MAX_LIMITS.memoryBytes), '--timeout-ms', String(MAX_LIMITS.timeoutMs)]);
  if (a === HELP) return t.fail('help');
  t.same(a.limits, MAX_LIMITS);
  badRequest(t, () => parseRunArgs(['c.wasm', '--fuel', String(MAX_LIMITS.fuel + 1)]), new RegExp(`--fuel .*ceiling of ${MAX_LIMITS.fuel}`));
  badRequest(t, () => parseRunArgs(['c.wasm', '--memory-bytes', String(MAX_LIMITS.memoryBytes + 1)]), new RegExp(`--memory-bytes .*ceiling of ${MAX_LIMITS.memoryBytes}`));
  badRequest(t, () => parseRunArgs(['c.wasm', '--timeout-ms', String(MAX_LIMITS.timeoutMs + 1)]), new RegExp(`--timeout-ms .*ceiling of ${MAX_LIMITS.timeoutMs}`));
  badRequest(t, () => parseRunArgs(['c.wasm', '--timeout-ms', '0']), /--timeout-ms must be at least 1/);
});

t.test('parseCount: digits only, safe, bounded', async (t) => {
  t.equal(parseCount('0', '--x', 10), 0);
  t.equal(parseCount('10', '--x', 10), 10);
  for (const bad of ['-1', '1.5', '1e3', '', ' 1', '0x10', 'ten', '+1']) {
    badRequest(t, () => parseCount(bad, '--x', 10 ** 12), /--x must be a non-negative integer/);
  }
  badRequest(t, () => parseCount('9007199254740993', '--x', Number.MAX_SAFE_INTEGER), /above the ceiling/);
  badRequest(t, () => parseCount('11', '--x', 10), /--x 11 is above the ceiling of 10/);
});

t.test('parseHex', async (t) => {
  t.same(parseHex(''), new Uint8Array(0));
  t.same(parseHex('776f726c64'), new TextEncoder().encode('world'));
  t.same(parseHex('0XAbCd'), new Uint8Array([0xab, 0xcd]));
  for (const bad of ['abc', 'zz', '12 34', '0x1']) badRequest(t, () => parseHex(bad), /--input-hex must be an even number of hex digits/);
});

t.test('parseJsonArgs', async (t) => {
  t.same(parseJsonArgs('[]'), []);
  t.same(parseJsonArgs('[1, "-5", "NaN"]'), [1, '-5', 'NaN']);
  badRequest(t, () => parseJsonArgs('[1'), /--args is not valid JSON/);
  badRequest(t, () => parseJsonArgs('{"a": 1}'), /--args must be a JSON array/);
  badRequest(t, () => parseJsonArgs('5'), /--args must be a JSON array/);
});

t.test('run: bad arguments', async (t) => {
  badRequest(t, () => parseRunArgs([]), /`run` needs a CONTRACT\.wasm/);
  badRequest(t, () => parseRunArgs(['a.wasm', 'b.wasm']), /takes only one CONTRACT\.wasm, got 2 arguments/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--bogus']), /Unknown option '--bogus'/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--fuel']), /--fuel/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--fuel', '-5']), /--fuel/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--fuel=-5']), /--fuel must be a non-negative integer, got `-5`/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--memory-bytes', '1.5']), /--memory-bytes must be a non-negative integer/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--mode', 'direct']), /--mode must be `bridge` or `shared`, got `direct`/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--input-hex', '00', '--input-file', 'x']), /either with --input-hex or with --input-file, not both/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--args', 'nope']), /--args is not valid JSON/);
});

t.test('run: an unknown option points at the ones it may have meant', async (t) => {
  // parseArgs takes no abbreviations: `--input` is neither --input-hex nor --input-file
  const both = /^Unknown option '--input': did you mean --input-hex or --input-file\?$/;
  badRequest(t, () => parseRunArgs(['c.wasm', '--input', 'world']), both);
  badRequest(t, () => parseRunArgs(['c.wasm', '--input=world']), both);
  badRequest(t, () => parseRunArgs(['c.wasm', '--in']), /^Unknown option '--in': did you mean --input-hex or --input-file\?$/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--stack', 'one']), /^Unknown option '--stack': did you mean --stacks\?$/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--memory', '65536']), /^Unknown option '--memory': did you mean --memory-bytes\?$/);
  badRequest(t, () => parseRunArgs(['c.wasm', '--hex', '00']), /^Unknown option '--hex': did you mean --input-hex or --iroha-context-hex\?$/);
  // nothing close: the option, and where to look
  badRequest(t, () => parseRunArgs(['c.wasm', '--bogus']), /^Unknown option '--bogus' \(see --help\)$/);
  badRequest(t, () => parseRunArgs(['c.wasm', '-x']), /^Unknown option '-x' \(see --help\)$/);
});

t.test('help wins, even next to a bad option', async (t) => {
  t.equal(parseRunArgs(['--help']), HELP);
  t.equal(parseRunArgs(['c.wasm', '-h']), HELP);
  t.equal(parseRunArgs(['--bogus', '--help']), HELP);
  t.equal(parseInstrumentArgs(['-h']), HELP);
  t.equal(parseInspectArgs(['--help']), HELP);
});

t.test('instrument arguments', async (t) => {
  t.same(parseInstrumentArgs(['in.wasm', '-o', 'out.wasm']), { input: 'in.wasm', output: 'out.wasm', fuel: BigInt(DEFAULT_LIMITS.fuel) });
  t.same(parseInstrumentArgs(['in.wasm', '--output', 'o.wasm', '--fuel', '9223372036854775807']), {
    input: 'in.wasm',
    output: 'o.wasm',
    fuel: 2n ** 63n - 1n,
  });
  badRequest(t, () => parseInstrumentArgs(['in.wasm']), /needs -o OUT\.wasm/);
  badRequest(t, () => parseInstrumentArgs(['-o', 'x.wasm']), /`instrument` needs an IN\.wasm/);
  badRequest(t, () => parseInstrumentArgs(['in.wasm', '-o', 'x', '--fuel', '9223372036854775808']), /ceiling of 9223372036854775807/);
  badRequest(t, () => parseInstrumentArgs(['in.wasm', '-o', 'x', '--fuel', '1e9']), /--fuel must be a non-negative integer/);
});

t.test('inspect arguments', async (t) => {
  t.same(parseInspectArgs(['m.wasm']), { module: 'm.wasm' });
  badRequest(t, () => parseInspectArgs([]), /`inspect` needs a MODULE\.wasm/);
  badRequest(t, () => parseInspectArgs(['m.wasm', '--fuel', '1']), /Unknown option '--fuel'/);
});
