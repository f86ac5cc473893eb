/**
 * Swagger UI in a real browser (Debian's chromium through playwright-core) against the built server
 * started with AUTH_TOKEN: /docs opens without the token, "Authorize" takes it, and "Try it out" on
 * PUT /modules uploads a real .wasm file and gets 201 with its hash; then GET /modules lists it.
 * Skips, saying why, where /usr/bin/chromium is absent (apt-get install chromium).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { example, startServer, tempDir } from './server-harness.js';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'a-long-enough-browser-token-5678';

if (!existsSync(CHROMIUM)) {
  t.test('Swagger UI in a browser', { skip: `no browser at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)` }, () => {});
} else {
  // required, not imported: playwright-core is CommonJS, and its ESM entry through the tests' loader
  // hooks (tsx) costs ~0.4 CPU-s more to load
  const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
  const dir = tempDir(t);
  const server = await startServer(t, { AUTH_TOKEN: TOKEN, STORE_DIR: join(dir, 'store'), SEED_EXAMPLES: 'false', WORKERS: '1' });
  const { bytes, hash } = example('fib');
  const file = join(dir, 'fib.wasm');
  writeFileSync(file, bytes);
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  t.teardown(() => browser.close());

  t.test('Authorize, then Try it out on PUT /modules with a .wasm file: 201 and its hash', async (t) => {
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const docs = await page.goto(`${server.url}/docs`);
    t.equal(docs?.status(), 200, '/docs opens without the token');
    await page.locator('.opblock').first().waitFor();

    await page.locator('button.authorize').first().click();
    await page.locator('.modal-ux input').first().fill(TOKEN);
    await page.locator('.modal-ux button.authorize').click();
    await page.locator('.modal-ux button.btn-done').click();

    const op = page.locator('#operations-default-put_modules');
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    await op.locator('input[type=file]').setInputFiles(file);
    const answered = page.waitForResponse((r) => r.url().endsWith('/modules') && r.request().method() === 'PUT');
    await op.locator('button.execute').click();
    const res = await answered;
    t.equal(res.status(), 201, 'stored: 201');
    t.equal(res.request().headers().authorization, `Bearer ${TOKEN}`, 'Swagger UI sent the token');
    t.match(res.request().headers()['content-type'], /^application\/(wasm|octet-stream)/, 'as raw wasm');
    await op.locator('.live-responses-table .response-col_status').filter({ hasText: '201' }).waitFor();
    t.match(await op.locator('.live-responses-table').innerText(), `"hash": "${hash}"`, 'the page shows the answer: the hash of the file');
    await page.close();
  });

  t.test('the API stays closed: without the token the upload is 401, with it the module is listed', async (t) => {
    const put = await fetch(`${server.url}/modules`, { method: 'PUT', body: Buffer.from(bytes), headers: { 'content-type': 'application/wasm' } });
    t.equal(put.status, 401);
    const list = await fetch(`${server.url}/modules`, { headers: { authorization: `Bearer ${TOKEN}` } });
    t.same((await list.json()).modules.map((m: { hash: string }) => m.hash), [hash]);
  });
}
