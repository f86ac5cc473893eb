/** The CLI's dispatch, usage texts, `inspect`, and the `npm run --silent cli --` form. */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { EX, ROOT, TmpDir, cli, ensureBuilt, npmCli } from './cli-support.js';

ensureBuilt();
const tmp = new TmpDir();
t.teardown(() => tmp.remove());

t.test('top-level --help and -h: usage on stdout, exit 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = cli(flag);
    t.equal(r.code, 0, flag);
    t.match(r.stdout, /^Usage: wasm-runner COMMAND/);
    for (const c of ['run', 'instrument', 'inspect']) t.match(r.stdout, new RegExp(`\\n  ${c} `), `lists ${c}`);
    t.equal(r.stderr, '');
  }
});

t.test('each command has --help', async (t) => {
  const run = cli('run', '--help');
  t.equal(run.code, 0);
  t.match(run.stdout, /^Usage: wasm-runner run CONTRACT\.wasm/);
  for (const o of ['--lib', '--mode', '--entry', '--args', '--input-hex', '--input-file', '--fuel', '--memory-bytes', '--timeout-ms', '--ffi', '--namespace']) {
    t.match(run.stdout, new RegExp(`\\n  ${o} `), `run documents ${o}`);
  }
  t.match(run.stdout, /default 55000000, at most 10000000000/, 'defaults and ceilings from defaults.ts');
  const ins = cli('instrument', '-h');
  t.equal(ins.code, 0);
  t.match(ins.stdout, /^Usage: wasm-runner instrument IN\.wasm -o OUT\.wasm/);
  const insp = cli('inspect', '--help');
  t.equal(insp.code, 0);
  t.match(insp.stdout, /^Usage: wasm-runner inspect MODULE\.wasm/);
  t.equal(run.stderr + ins.stderr + insp.stderr, '');
});

t.test('no command or an unknown one: usage on stderr, exit 2', async (t) => {
  const none = cli();
  t.equal(none.code, 2);
  t.equal(none.stdout, '');
  t.match(none.stderr, /Usage: wasm-runner COMMAND/);
  const bad = cli('frobnicate', 'x.wasm');
  t.equal(bad.code, 2);
  t.equal(bad.stdout, '');
  t.match(bad.stderr, /unknown command `frobnicate`[\s\S]*Usage: wasm-runner COMMAND/);
});

t.test('inspect: structure as JSON, signatures as text', async (t) => {
  const file = EX('hello-lib.wasm');
  const r = cli('inspect', file);
  t.equal(r.code, 0, r.stderr);
  const b = r.json();
  const bytes = readFileSync(file);
  t.equal(b.hash, createHash('sha256').update(bytes).digest('hex'));
  t.equal(b.bytes, bytes.length);
  t.same(
    b.imports.map((i: any) => `${i.module}.${i.name}: ${i.type}`).sort(),
    ['host.input_len: () -> (i32)', 'host.input_read: (i32) -> ()', 'host.output: (i32, i32) -> ()', 'lib.hex: (i32, i32) -> (i64)'],
  );
  t.same(b.exports.find((e: any) => e.name === 'main'), { name: 'main', kind: 'func', type: '() -> (i32)' });
  t.same(b.exports.find((e: any) => e.name === 'memory'), { name: 'memory', kind: 'memory' });
  t.equal(b.memoryPages, 17);
  t.equal(b.ffi, null);

  const lib = cli('inspect', EX('library.wasm')).json();
  t.equal(lib.ffi, readFileSync(join(ROOT, 'examples/library/ffi.txt'), 'utf8'), 'the ffi section, byte for byte');
  t.same(lib.imports, []);
  t.same(lib.layout.stackPointer, { global: 0, initial: 0x100000, name: '__stack_pointer' }, 'layout: the stack pointer');
  t.same(lib.layout.data, [{ start: 0x100000, end: 0x10063c }], 'layout: the data segment');
  const shared = cli('inspect', EX('kv-shared.wasm')).json();
  t.equal(shared.layout.memory.imported, 'env.memory', 'layout: an imported memory');
  t.equal(shared.memoryPages, 0);

  const invalid = cli('inspect', tmp.file('bad.wasm', new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0])));
  t.equal(invalid.code, 2);
  t.equal(invalid.json().error.kind, 'invalid_module');
  const missing = cli('inspect', 'nope.wasm');
  t.equal(missing.code, 2);
  t.same(missing.json(), { error: { kind: 'bad_request', message: `cannot read MODULE \`nope.wasm\`: no such file (looked at ${join(ROOT, 'nope.wasm')}; a relative path is resolved against the working directory, ${ROOT.replace(/\/$/, '')})` } });
});

t.test('`npm run --silent cli -- run ...` prints only the body', async (t) => {
  const r = npmCli('run', 'examples/wasm/hello.wasm', '--input-hex', '776f726c64');
  t.equal(r.code, 0, r.stderr);
  const b = r.json();
  t.equal(Buffer.from(b.result.output, 'base64').toString(), 'hello, world');
  const bad = npmCli('run', 'examples/wasm/kv.wasm');
  t.equal(bad.code, 2, 'the exit code passes through npm');
  t.equal(bad.json().error.kind, 'link_error');
});

t.test('an unexpected failure: kind internal on stderr, exit 3, nothing on stdout', async (t) => {
  // a copy of the CLI whose worker module is missing
  const root = join(tmp.path, 'broken');
  mkdirSync(root);
  writeFileSync(join(root, 'package.json'), '{"type": "module"}');
  cpSync(join(ROOT, 'dist/cli'), join(root, 'cli'), { recursive: true });
  rmSync(join(root, 'cli/run-worker.js'));
  for (const d of ['engine', 'wasm']) symlinkSync(join(ROOT, 'dist', d), join(root, d));
  symlinkSync(join(ROOT, 'node_modules'), join(root, 'node_modules')); // the CLI's own imports (scale-ts)
  const r = cli.at(join(root, 'cli/main.js'))('run', EX('hello.wasm'));
  t.equal(r.code, 3);
  t.equal(r.stdout, '');
  const err = JSON.parse(r.stderr.trim());
  t.equal(err.error.kind, 'internal');
  t.match(err.error.message, /worker/);
});
