/**
 * The playground page (GET /playground, src/http/routes/playground.ts, public/playground/) in a real
 * browser (Debian's chromium through playwright-core) against the built server started with AUTH_TOKEN
 * and the bundled examples: the page opens without the token and asks for it, then runs `kv` linked with
 * the library and shows the fuel a direct POST /execute of the same request answers, and its flame graph;
 * the `debug-trap` example shows its backtrace down to math.rs:14. Without a browser only the plain HTTP
 * checks run (the allow-list of files, no path traversal, the content types); the browser part skips,
 * saying why, where /usr/bin/chromium is absent (apt-get install chromium).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { head, rawRequest } from './raw-http.js';
import { example, startServer, tempDir } from './server-harness.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'a-long-enough-playground-token-9012';
const auth = { authorization: `Bearer ${TOKEN}` };

const dir = tempDir(t);
const server = await startServer(t, { AUTH_TOKEN: TOKEN, STORE_DIR: join(dir, 'store'), SEED_EXAMPLES: 'true', WORKERS: '1' });
const kv = example('kv').hash;
const library = example('library').hash;
const debugTrap = example('debug-trap').hash;
// launched before the first subtest: the root test ends once its queue is empty
const browser = existsSync(CHROMIUM)
  ? // required, not imported: playwright-core is CommonJS (see swagger-browser.test.ts)
    await (createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core')).chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
  : null;
if (browser) t.teardown(() => browser.close());

t.test('the page and its files are open; only the listed files are served', async (t) => {
  for (const [path, type] of [
    ['/playground', /^text\/html/],
    ['/playground/', /^text\/html/],
    ['/playground/playground.js', /^text\/javascript/],
    ['/playground/playground.css', /^text\/css/],
    ['/playground/d3.min.js', /^text\/javascript/],
    ['/playground/d3-flamegraph.min.js', /^text\/javascript/],
    ['/playground/examples.json', /^application\/json/],
  ] as const) {
    const r = await server.request('GET', path);
    t.equal(r.status, 200, `${path}: 200 without the token`);
    t.match(r.headers.get('content-type'), type, `${path}: its content type`);
    t.ok(r.headers.get('cache-control'), `${path}: a cache-control`);
  }
  t.equal((await server.request('GET', '/playground/examples.json')).body[kv], 'kv.wasm', 'the examples are named by hash');
  t.match((await server.request('GET', '/playground')).headers.get('content-security-policy'), /script-src 'self'/);
  t.equal((await server.request('GET', '/modules')).status, 401, 'the API stays closed');

  // traversal as sent by a raw client (fetch would normalise the dots away), with the token so that auth is not what refuses it
  for (const path of ['/playground/../package.json', '/playground/%2e%2e%2fpackage.json', '/playground/..%2fpackage.json', '/playground/..', '/playground/a/../../package.json']) {
    const r = await rawRequest(server.port, head('GET', path, auth));
    t.equal(r.status, 404, `${path}: 404`);
    t.equal(r.body?.error?.kind, 'not_found', `${path}: the error body`);
  }
  for (const path of ['/playground/package.json', '/playground/server.js', '/playground/__proto__', '/playground/d3.js', '/playground/nope']) {
    t.equal((await server.request('GET', path, undefined, { headers: auth })).status, 404, `${path}: not on the list, 404`);
  }
  t.equal((await rawRequest(server.port, head('GET', '/playground/%2e%2e%2fpackage.json'))).status, 401, 'an encoded path is not opened without the token');
});

if (!browser) {
  t.test('the playground in a browser', { skip: `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)` }, () => {});
} else {
  /** A new page; `errors` collects its script errors (the console's, but for the 401 the page is expected to get without the token). */
  const openPage = async (t: Test) => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    page.setDefaultTimeout(10_000);
    t.teardown(() => page.close());
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => void (m.type() === 'error' && !/401/.test(m.text()) && errors.push(m.text())));
    return { page, errors };
  };

  t.test('kv: without the token the page asks for it; with it, run shows the fuel of POST /execute and the flame graph', async (t) => {
    const { page, errors } = await openPage(t);
    const res = await page.goto(`${server.url}/playground`);
    t.equal(res?.status(), 200, '/playground opens without the token');
    await page.locator('#status.error', { hasText: 'needs a token' }).waitFor();
    t.match(await page.locator('#status').innerText(), /^401 unauthorized: this service needs a token/, 'a clear 401 message');

    await page.locator('#token').fill(TOKEN);
    await page.locator('#token').press('Enter');
    await page.locator('#contract option', { hasText: 'kv.wasm' }).waitFor({ state: 'attached' });
    await page.locator('#contract').selectOption(kv);
    await page.locator('#library').selectOption(library);
    t.equal(await page.locator('#entrypoint').inputValue(), 'main', "kv's main is offered and chosen");
    t.ok(await page.locator('#entrypoint option[value=lookup]').count(), 'the other exported functions too');
    await page.locator('#input').fill('b=2\na=1\nc=3\n');

    const sent = page.waitForRequest((r) => r.url().endsWith('/execute') && r.method() === 'POST');
    await page.locator('#run').click();
    const request = await sent;
    t.equal(request.headers().authorization, `Bearer ${TOKEN}`, 'the page sent the token');
    const body = JSON.parse(request.postData()!);
    t.match(body, { contract: { hash: kv }, library: { hash: library }, link: { mode: 'bridge' }, entrypoint: 'main', input: 'Yj0yCmE9MQpjPTMK' });
    await page.locator('#fuel-consumed[data-value]').waitFor();

    const direct = await server.request('POST', '/execute', body, { headers: auth });
    t.equal(direct.status, 200, 'the same request, sent directly');
    t.equal(Number(await page.locator('#fuel-consumed').getAttribute('data-value')), direct.body.fuel.consumed, `the page shows the fuel consumed (${direct.body.fuel.consumed})`);
    t.equal(await page.locator('#outcome').innerText(), 'ok');
    t.equal(await page.locator('#values').innerText(), '[3]');
    t.equal(await page.locator('#logs').innerText(), '[info] kv: 3 entries');

    if (body.profile === undefined) {
      t.fail('the page sent no profile: the service refused the `profile` field (POST /execute has no fuel profile yet)');
      return;
    }
    t.same(body.profile, { format: 'speedscope' }, 'the page asked for the speedscope profile');
    await page.locator('#flamegraph svg g.frame rect').first().waitFor();
    t.ok((await page.locator('#flamegraph svg g.frame rect').count()) > 3, 'the flame graph has frames');
    const frames = await page.locator('#flamegraph svg g.frame').evaluateAll((gs) => gs.map((g) => `${g.getAttribute('name')} ${g.querySelector('title')?.textContent ?? ''}`));
    t.ok(frames.some((f) => f.includes('kv::')), 'a frame of the kv contract (kv::…)');
    t.ok((await page.locator('#functions tbody tr').count()) > 0, 'the functions table');
    t.same(errors, [], 'no error in the page');
  });

  t.test('debug-trap: the backtrace down to math.rs:14', async (t) => {
    const { page, errors } = await openPage(t);
    await page.addInitScript((token) => sessionStorage.setItem('wasm-runner-token', token), TOKEN);
    await page.goto(`${server.url}/playground`);
    await page.locator('#contract option', { hasText: 'debug-trap.wasm' }).waitFor({ state: 'attached' });
    await page.locator('#contract').selectOption(debugTrap);
    t.equal(await page.locator('#entrypoint').inputValue(), 'run');
    await page.locator('#run').click();
    await page.locator('#backtrace', { hasText: 'math.rs:14' }).waitFor();
    t.equal(await page.locator('#outcome').innerText(), 'trap');
    t.match(await page.locator('#backtrace').innerText(), /^#0 debug_trap::math::load_scaled at debug-trap\/src\/math\.rs:14:22 \(contract\[1\] @0xca\)\n#1 run at debug-trap\/src\/lib\.rs:25:5 \(contract\[3\] @0xea\)$/);
    t.same(errors, [], 'no error in the page');
  });
}
