/**
 * `snapshot` (src/cli/snapshot.ts), through the built CLI as users run it: fuel per call of a batch file
 * (each call named by its arguments, equal to what `run` reports), written to stdout or --out; --check
 * against a baseline fails (exit 1) on a call whose fuel grew past the tolerance or whose outcome
 * changed, and lists shrunk, new and gone calls without failing; bad files and options exit 2.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { EX, TmpDir, cliAsync, ensureBuilt } from './cli-support.js';

ensureBuilt();
const tmp = new TmpDir();
t.teardown(() => tmp.remove());

const CALLS = [
  [EX('kv.wasm'), '--lib', EX('library.wasm'), '--input-hex', Buffer.from('a=1\nb=2').toString('hex')],
  [EX('hello.wasm'), '--input-hex', Buffer.from('world').toString('hex')],
  [EX('panic.wasm'), '--input-hex', Buffer.from('x').toString('hex')],
  [EX('hello.wasm'), '--fuel', 'lots'],
];
const name = (c: string[]) => c.join(' ');

t.test('a snapshot, a check against it, and a check that fails', async (t) => {
  const file = tmp.file('calls.json', JSON.stringify(CALLS));
  const out = tmp.file('snapshot.json', '');
  const w = await cliAsync('snapshot', file, '--out', out);
  t.equal(w.code, 0, w.stderr);
  t.equal(w.stdout, '', '--out: nothing on stdout');
  const snap = await cliAsync('snapshot', file);
  t.equal(snap.code, 0);
  const s = snap.json();
  t.same(s.calls.map((c: { call: string; outcome: string }) => [c.call, c.outcome]), [
    [name(CALLS[0]!), 'ok'],
    [name(CALLS[1]!), 'ok'],
    [name(CALLS[2]!), 'panic'],
    [name(CALLS[3]!), 'refused: bad_request'],
  ]);
  t.equal(s.unit, 'fuel');
  t.equal(s.calls[3].fuel, null, 'a refused call has no fuel');
  const hello = await cliAsync('run', ...CALLS[1]!);
  t.equal(s.calls[1].fuel, hello.json().fuel.consumed, 'the fuel `run` reports');
  t.same(JSON.parse(readFileSync(out, 'utf8')), s, 'the same snapshot in --out, every run');

  const same = await cliAsync('snapshot', file, '--check', out);
  t.equal(same.code, 0, same.stdout);
  t.equal(same.stdout, '4 calls: 0 grew, 0 changed outcome, 0 shrank, 4 unchanged, 0 new, 0 gone (tolerance 0%)\n');

  // a baseline where kv cost 100 less, hello 10 more, panic was ok, and a call that is gone
  const base = structuredClone(s);
  base.calls[0].fuel -= 100;
  base.calls[1].fuel += 10;
  base.calls[2].outcome = 'ok';
  base.calls.push({ call: 'old.wasm', outcome: 'ok', fuel: 5 });
  const baseFile = tmp.file('base.json', JSON.stringify(base));
  const kvFuel = s.calls[0].fuel;
  const failed = await cliAsync('snapshot', file, '--check', baseFile);
  t.equal(failed.code, 1, 'grew and changed: exit 1');
  t.equal(
    failed.stdout,
    [
      `grew       ${name(CALLS[0]!)}: ${kvFuel - 100} → ${kvFuel} (+100, +${((100 / (kvFuel - 100)) * 100).toFixed(2)}%)`,
      `shrank     ${name(CALLS[1]!)}: ${s.calls[1].fuel + 10} → ${s.calls[1].fuel} (-10, ${((-10 / (s.calls[1].fuel + 10)) * 100).toFixed(2)}%)`,
      `changed    ${name(CALLS[2]!)}: ok → panic (fuel ${s.calls[2].fuel} → ${s.calls[2].fuel})`,
      'gone       old.wasm',
      '4 calls: 1 grew, 1 changed outcome, 1 shrank, 1 unchanged, 0 new, 1 gone (tolerance 0%)',
      '',
    ].join('\n'),
  );
  // within a tolerance the growth passes (the changed outcome still fails, so drop it)
  base.calls[2].outcome = 'panic';
  tmp.file('base.json', JSON.stringify(base));
  const tolerated = await cliAsync('snapshot', file, '--check', baseFile, '--tolerance', '5');
  t.equal(tolerated.code, 0, tolerated.stdout);
  t.match(tolerated.stdout, /^grew \(ok\) /m);
  t.match(tolerated.stdout, /0 grew, 0 changed outcome, 1 shrank, 3 unchanged, 0 new, 1 gone \(tolerance 5%\)/);
});

t.test('bad files and options: exit 2 with a message', async (t) => {
  const file = tmp.file('one.json', JSON.stringify([CALLS[1]]));
  const cases: Array<[string[], RegExp]> = [
    [['snapshot'], /needs a FILE\.json/],
    [['snapshot', tmp.file('notjson.json', '{')], /FILE is not JSON/],
    [['snapshot', tmp.file('twice.json', JSON.stringify([CALLS[1], CALLS[1]]))], /is there twice/],
    [['snapshot', file, '--check', tmp.file('bad-base.json', '{"calls": 3}')], /not a snapshot \(write one with `snapshot FILE\.json --out/],
    [['snapshot', file, '--tolerance', '5'], /--tolerance applies to --check/],
    [['snapshot', file, '--check', file, '--tolerance', 'x'], /--tolerance must be a percentage/],
  ];
  for (const [args, message] of cases) {
    const r = await cliAsync(...args);
    t.equal(r.code, 2, args.join(' '));
    t.match(r.stdout + r.stderr, message, args.join(' '));
  }
});

t.test('run --profile FILE: the format by the name; snapshot --profile: fuel per function', async (t) => {
  const kv = [EX('kv.wasm'), '--lib', EX('library.wasm'), '--input-hex', Buffer.from('b=2\na=1\nc=3\n').toString('hex')];
  const files = { json: tmp.file('p.json', ''), speedscope: tmp.file('p.speedscope.json', ''), folded: tmp.file('p.folded', ''), pprof: tmp.file('p.pb.gz', '') };
  for (const [what, path] of Object.entries(files)) {
    const r = await cliAsync('run', ...kv, '--profile', path);
    t.equal(r.code, 0, r.stderr);
    t.match(r.stderr, `22922 fuel → ${path}`, `${what}: said on stderr`);
    const body = r.json();
    t.equal(body.profile.total, 22_922, `${what}: the printed body has the profile's rows`);
    t.equal(body.profile.data, undefined, `${what}: not the file's data`);
  }
  t.equal(JSON.parse(readFileSync(files.json, 'utf8')).total, 22_922);
  t.equal(JSON.parse(readFileSync(files.speedscope, 'utf8')).profiles[0].weights.reduce((a: number, b: number) => a + b, 0), 22_922);
  const folded = readFileSync(files.folded, 'utf8').trim().split('\n');
  t.equal(folded.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0), 22_922);
  const { gunzipSync } = await import('node:zlib');
  const { Profile } = await import('pprof-format');
  const pprof = Profile.decode(gunzipSync(readFileSync(files.pprof)));
  t.equal(pprof.sample.reduce((n, s) => n + Number(s.value[0]), 0), 22_922, '.pb.gz: gzipped pprof');

  const bad = await cliAsync('run', ...kv, '--profile', tmp.file('p.svg', ''));
  t.equal(bad.code, 2);
  t.match(bad.json().error.message, /\.speedscope\.json/);

  // the Iroha profile: its host functions are frames too
  const iroha = ['--iroha-context', EX('../iroha/inputs/query_assets.json')];
  const plain = await cliAsync('run', EX('../iroha/query_assets_and_save_cursor.wasm'), ...iroha);
  const prof = await cliAsync('run', EX('../iroha/query_assets_and_save_cursor.wasm'), ...iroha, '--profile', tmp.file('iroha.json', ''));
  t.equal(prof.code, 0, prof.stderr);
  const ip = prof.json().profile;
  t.equal(ip.total, plain.json().fuel.consumed, 'Iroha: the same fuel as the ordinary run');
  t.equal(ip.functions.reduce((n: number, f: { self: number }) => n + f.self, 0) + ip.host.reduce((n: number, h: { fuel: number }) => n + h.fuel, 0), ip.total);
  t.same(ip.host.map((h: { import: string }) => h.import).sort(), ['iroha.execute_instruction', 'iroha.execute_query'], 'Iroha: its imports as host rows');

  const file = tmp.file('profile-calls.json', JSON.stringify([kv]));
  const snap = await cliAsync('snapshot', file, '--profile');
  t.equal(snap.code, 0, snap.stderr);
  const fns = snap.json().calls[0].functions as Record<string, number>;
  t.equal(Object.values(fns).reduce((a, b) => a + b, 0), 22_922, 'the functions and host imports sum to the call');
  t.ok(Object.keys(fns).some((k) => k.includes('kv::insert_lines')), 'named');
});
