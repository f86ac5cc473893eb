/**
 * Fuel profiles from the process users run (`dist/server.js`, two worker threads): `"profile": true` on
 * the bundled kv example answers a profile summing exactly to its 22,922 fuel, with demangled Rust
 * names, byte-identical on every request whichever worker ran it; every format decodes (speedscope,
 * collapsed stacks, pprof through pprof-format, and through real `go tool pprof` when Go is installed)
 * to the same fuel; a batch's calls each carry theirs;
 * an ordinary request's answer has no profile and the same fuel; a bad `profile` is a 400.
 */
import { createHash } from 'node:crypto';
import { Profile } from 'pprof-format';
import t from 'tap';
import { example, startServer, tempDir } from './server-harness.js';

const dir = tempDir(t);
const server = await startServer(t, { WORKERS: '2', STORE_DIR: dir });
const KV = {
  contract: { hash: example('kv').hash },
  library: { hash: example('library').hash },
  input: Buffer.from('b=2\na=1\nc=3\n').toString('base64'),
};
const digest = (x: unknown) => createHash('sha256').update(JSON.stringify(x)).digest('hex');

t.test('kv with "profile": true: 22,922 fuel exactly, Rust names, the same bytes from every worker', async (t) => {
  const plain = await server.request('POST', '/execute', KV);
  t.equal(plain.status, 200);
  t.equal(plain.body.profile, undefined, 'no profile unless asked');
  const answers = await Promise.all(Array.from({ length: 6 }, () => server.request('POST', '/execute', { ...KV, profile: true })));
  for (const a of answers) t.equal(a.status, 200);
  const p = answers[0]!.body.profile;
  t.equal(answers[0]!.body.fuel.consumed, plain.body.fuel.consumed, 'the same fuel as the ordinary run');
  t.equal(p.total, 22_922);
  const self = p.functions.reduce((n: number, f: { self: number }) => n + f.self, 0);
  const host = p.host.reduce((n: number, h: { fuel: number }) => n + h.fuel, 0);
  t.equal(self + host, 22_922, 'sum(functions.self) + sum(host.fuel) = fuel.consumed');
  t.ok(p.functions.some((f: { name: string | null }) => f.name?.startsWith('kv::')), 'kv:: functions named');
  t.ok(p.host.some((h: { name: string | null }) => h.name?.startsWith('kv::lib::')), 'the bridge copies named kv::lib::…');
  t.equal(new Set(answers.map((a) => digest(a.body.profile))).size, 1, 'one profile across six requests on two workers');
});

t.test('each format decodes to the same fuel', async (t) => {
  const s = await server.request('POST', '/execute', { ...KV, profile: { format: 'speedscope' } });
  t.equal(s.body.profile.format, 'speedscope');
  const file = s.body.profile.data;
  t.equal(file.profiles[0].weights.reduce((a: number, b: number) => a + b, 0), 22_922, 'speedscope weights');
  t.ok(file.shared.frames.some((f: { name: string }) => f.name.includes('kv::insert_lines')));

  const c = await server.request('POST', '/execute', { ...KV, profile: { format: 'collapsed' } });
  const lines: string[] = c.body.profile.data.trim().split('\n');
  t.equal(
    lines.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0),
    22_922,
    'collapsed stacks',
  );
  t.ok(lines.every((l) => /^[^\n]+ \d+$/.test(l)), 'one stack and a count per line');

  const pp = await server.request('POST', '/execute', { ...KV, profile: { format: 'pprof' } });
  const decoded = Profile.decode(new Uint8Array(Buffer.from(pp.body.profile.data, 'base64')));
  const sum = decoded.sample.reduce((n, smp) => n + Number(smp.value[0]), 0);
  t.equal(sum, 22_922, 'pprof samples');
  t.same(pp.body.profile.functions, s.body.profile.functions, 'the same rows whatever the format');
});

t.test('a batch: each call its own profile; a bad profile field is a 400', async (t) => {
  const b = await server.request('POST', '/execute/batch', { calls: [{ ...KV, profile: true }, KV, { ...KV, limits: { fuel: 10_000 }, profile: true }] });
  t.equal(b.status, 200);
  const [one, two, three] = b.body.results;
  t.equal(one.profile.total, 22_922);
  t.equal(two.profile, undefined);
  t.equal(three.error.kind, 'out_of_fuel');
  t.equal(three.profile.total, 10_000, 'out of fuel: the profile sums to the limit');

  const bad = await server.request('POST', '/execute', { ...KV, profile: { format: 'svg' } });
  t.equal(bad.status, 400);
  t.match(bad.body.error.message, /body\.profile/);
});

t.test('pprof as `go tool pprof` reads it (the oracle, when Go is installed)', async (t) => {
  const { spawnSync } = await import('node:child_process');
  const { writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) {
    t.skip('no `go` on this machine (apt-get install golang-go): pprof is checked with pprof-format above');
    return;
  }
  const pp = await server.request('POST', '/execute', { ...KV, profile: { format: 'pprof' } });
  const file = join(dir, 'kv.pb');
  writeFileSync(file, Buffer.from(pp.body.profile.data, 'base64'));
  const top = spawnSync('go', ['tool', 'pprof', '-top', '-nodecount=3', file], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, HOME: dir } });
  t.equal(top.status, 0, top.stderr);
  t.match(top.stdout, /Type: fuel/, 'the sample type');
  t.match(top.stdout, /of 22922 total/, 'the total');
  const first = pp.body.profile.functions[0];
  const row = new RegExp(`^\\s*${first.self} \\S+ \\S+\\s+${first.total} \\S+\\s+library:rt::sha256::compress$`, 'm');
  t.match(top.stdout, row, `the top function's flat (self) and cum (total): ${first.self}, ${first.total}`);
});
