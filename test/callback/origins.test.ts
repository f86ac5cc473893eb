/**
 * checkCallbackUrl: the "loopback" token (127.0.0.0/8, [::1], localhost, any port, http or https,
 * whatever the spelling), listed origins (scheme, host and port must match), what is refused and
 * how the refusal reads; and an allowed URL of a real local server is one SyncPoster reaches.
 */
import t from 'tap';
import { Worker } from 'node:worker_threads';
import { checkCallbackOrigins, checkCallbackUrl, DEFAULT_CALLBACK_ORIGINS, isLoopbackHost } from '../../src/callback/origins.js';
import { SyncPoster } from '../../src/callback/sync-post.js';

t.same(DEFAULT_CALLBACK_ORIGINS, ['loopback']);

t.test('loopback: any port, http or https, normalised spellings', async (t) => {
  for (const url of [
    'http://127.0.0.1:8080/',
    'https://127.0.0.1/',
    'http://127.1.2.3:1/peer',
    'http://localhost:9000',
    'https://LOCALHOST:9000/x',
    'http://[::1]:7000/',
    'http://[0:0:0:0:0:0:0:1]:7000/', // → [::1]
    'http://2130706433:80/', // → 127.0.0.1
    'http://0x7f.1/', // → 127.0.0.1
  ]) {
    t.equal(checkCallbackUrl(url, ['loopback']), null, url);
  }
});

t.test('not loopback', async (t) => {
  for (const url of ['http://128.0.0.1/', 'http://10.0.0.5:9000/', 'http://localhost.example.com/', 'http://[::2]/', 'http://127.0.0.1.nip.io/', 'http://[::ffff:10.0.0.1]/']) {
    t.match(checkCallbackUrl(url, ['loopback']), /is not allowed/, url);
  }
  t.equal(isLoopbackHost('127.255.255.255'), true);
  t.equal(isLoopbackHost('1.127.0.0'), false);
});

t.test('listed origins: scheme, host and port must match', async (t) => {
  const allowed = ['http://10.0.0.5:9000', 'https://peer.example:8443/', 'http://peer.example'];
  t.equal(checkCallbackUrl('http://10.0.0.5:9000/iroha', allowed), null);
  t.equal(checkCallbackUrl('https://peer.example:8443', allowed), null);
  t.equal(checkCallbackUrl('http://peer.example:80/x', allowed), null, 'default port written out');
  t.equal(checkCallbackUrl('http://PEER.example/x', allowed), null, 'host case');
  t.match(checkCallbackUrl('http://10.0.0.5:9001/', allowed), /origin http:\/\/10\.0\.0\.5:9001 is not allowed/, 'other port');
  t.match(checkCallbackUrl('https://10.0.0.5:9000/', allowed), /origin https:\/\/10\.0\.0\.5:9000 is not allowed/, 'other scheme');
  t.match(checkCallbackUrl('http://127.0.0.1:9000/', allowed), /not allowed/, 'loopback only with the token');
  t.match(checkCallbackUrl('http://10.0.0.5:9000/', ['loopback']), /not allowed/);
});

t.test('the refusal names the origin and the config key', async (t) => {
  t.equal(
    checkCallbackUrl('http://10.0.0.7:9000/path?q', ['loopback', 'http://10.0.0.5:9000']),
    'the origin http://10.0.0.7:9000 is not allowed: add "http://10.0.0.7:9000" to iroha.callbackOrigins (it holds "loopback", "http://10.0.0.5:9000")',
  );
  t.equal(
    checkCallbackUrl('http://127.0.0.1:1/', []),
    'the origin http://127.0.0.1:1 is not allowed: add "http://127.0.0.1:1" to iroha.callbackOrigins (it is empty, so no callback is allowed)',
  );
});

t.test('only http(s), no credentials, absolute URLs', async (t) => {
  t.equal(checkCallbackUrl('ftp://127.0.0.1/', ['loopback']), 'the callback must be an http: or https: URL, not ftp:');
  t.equal(checkCallbackUrl('file:///etc/passwd', ['loopback']), 'the callback must be an http: or https: URL, not file:');
  t.equal(checkCallbackUrl('http://user:pw@127.0.0.1/', ['loopback']), 'the callback URL must not contain credentials (user:password@)');
  t.equal(checkCallbackUrl('http://user@127.0.0.1/', ['loopback']), 'the callback URL must not contain credentials (user:password@)');
  t.match(checkCallbackUrl('/relative', ['loopback']), /^"\/relative" is not an absolute URL/);
  t.match(checkCallbackUrl('', ['loopback']), /is not an absolute URL/);
});

t.test('checkCallbackOrigins names the first unusable entry', async (t) => {
  t.equal(checkCallbackOrigins(['loopback', 'http://10.0.0.5:9000', 'https://peer.example/']), null);
  t.match(checkCallbackOrigins(['loopback', 'http://10.0.0.5:9000/path']), /^iroha\.callbackOrigins\[1\] "http:\/\/10\.0\.0\.5:9000\/path" is neither "loopback" nor an origin/);
  t.match(checkCallbackOrigins(['10.0.0.5:9000']), /callbackOrigins\[0\]/);
  t.match(checkCallbackOrigins(['loopbak']), /callbackOrigins\[0\] "loopbak"/);
  t.match(checkCallbackOrigins(['ftp://x']), /callbackOrigins\[0\]/);
  t.match(checkCallbackUrl('http://10.0.0.5:9000/', ['http://10.0.0.5:9000/path']), /not allowed/, 'an unusable entry allows nothing');
});

t.test('an allowed loopback URL of a real server is reachable', { timeout: 20_000 }, async (t) => {
  // The server has its own thread: the caller blocks this one.
  const w = new Worker(
    `const http = require('node:http');
     const s = http.createServer((q, r) => { const c = []; q.on('data', (d) => c.push(d)); q.on('end', () => r.end(Buffer.concat(c))); });
     s.listen(0, '127.0.0.1', () => require('node:worker_threads').parentPort.postMessage(s.address().port));`,
    { eval: true, execArgv: [] },
  );
  t.teardown(() => w.terminate());
  const port = await new Promise<number>((r) => w.once('message', r));
  const base = `http://127.0.0.1:${port}`;
  t.equal(checkCallbackUrl(base, DEFAULT_CALLBACK_ORIGINS), null);
  t.match(checkCallbackUrl(base, []), new RegExp(`origin ${base.replace(/\./g, '\\.')} is not allowed`));
  const p = new SyncPoster();
  t.teardown(() => p.close());
  t.same(p.post(`${base}/query`, new Uint8Array([1, 2]), { timeoutMs: 3000, maxResponseBytes: 10 }), { ok: true, status: 200, body: new Uint8Array([1, 2]) });
});
