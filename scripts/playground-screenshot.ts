/**
 * `npx tsx scripts/playground-screenshot.ts [out.png]` (after `npm run build`)
 *
 * The screenshot of docs/images/playground-kv.png: starts the built service (`node dist/server.js`, the
 * bundled examples stored, a temporary store) on a free port of 127.0.0.1, opens GET /playground in
 * headless Chromium (playwright-core, /usr/bin/chromium or $CHROMIUM) at 1200×800, runs the `kv` example
 * linked with the library, waits for the fuel flame graph, takes the screenshot and stops the service.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(process.argv[2] ?? join(ROOT, 'docs/images/playground-kv.png'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';


const dir = mkdtempSync(join(tmpdir(), 'wcr-screenshot-'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const { AUTH_TOKEN: _token, ...env } = process.env; // no token: the page needs none typed in
const proc = spawn(process.execPath, [join(ROOT, 'dist/server.js')], {
  cwd: ROOT,
  env: { ...env, HOST: '127.0.0.1', PORT: String(port), STORE_DIR: join(dir, 'store'), WORKERS: '1', LOG_LEVEL: 'warn', SEED_EXAMPLES: 'true' },
  stdio: ['ignore', 'inherit', 'inherit'],
});
const exited = new Promise<number | null>((r) => proc.once('exit', r));

// required, not imported: playwright-core is CommonJS (as in test/e2e/swagger-browser.test.ts)
const { chromium } = createRequire(import.meta.url)('playwright-core') as typeof import('playwright-core');
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  for (let i = 0; ; i++) {
    const ready = await fetch(`${url}/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (i > 150 || proc.exitCode !== null) throw new Error(`the service did not get ready at ${url}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  page.setDefaultTimeout(15_000);
  await page.goto(`${url}/playground`);
  await page.locator('#contract option', { hasText: 'kv.wasm' }).waitFor({ state: 'attached' });
  const hashOf = async (name: string) => (await page.locator('#contract option', { hasText: name }).first().getAttribute('value'))!;
  await page.locator('#contract').selectOption(await hashOf('kv.wasm'));
  await page.locator('#library').selectOption(await hashOf('library.wasm'));
  await page.locator('#input').fill('b=2\na=1\nc=3\n');
  await page.locator('#run').click();
  await page.locator('#flamegraph svg g.frame rect').first().waitFor();
  await page.waitForTimeout(1000); // the flame graph's transitions (250 ms) and labels
  await page.locator('#result').evaluate((el) => el.scrollIntoView());
  mkdirSync(dirname(OUT), { recursive: true });
  await page.screenshot({ path: OUT });
  console.log(`${OUT}: ${statSync(OUT).size} bytes`);
} finally {
  await browser.close();
  proc.kill('SIGTERM');
  await exited;
  rmSync(dir, { recursive: true, force: true });
}
