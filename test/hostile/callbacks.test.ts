/**
 * The Iroha profile under attack: a module answering bogus lengths (verdict prefixes, allocator
 * results, host-call ranges), and peer callbacks (a local HTTP server on 127.0.0.1) that hang,
 * drip, flood, redirect, drop the connection or answer garbage. Each case: its exact outcome kind
 * and message, bounded in time, and a normal execution (and /health, /ready) right after.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import * as I from '../support/iroha.js';
import { assertExpect, assertHealthy, assertProcessHealthy, b64, type Case, execute, recordHealth, req, runCases, wat } from './support.js';
import { startTarget } from './support.js';

const CALLBACK_MS = 300;
const MAX_ANSWER = 65536;
const { app, config } = await startTarget(t, { iroha: { callbackOrigins: ['loopback'], callbackTimeoutMs: CALLBACK_MS, maxCallbackResponseBytes: MAX_ANSWER } });
const h = await recordHealth(t, app, config);

/** An Iroha module: `verdict` is the body of the executor entrypoint, `main` the smart contract's. */
function iroha(o: { verdict?: string; main?: string; alloc?: string } = {}): string {
  return `(module
    (import "iroha" "execute_instruction" (func $ei (param i32 i32) (result i32)))
    (import "iroha" "execute_query" (func $eq (param i32 i32) (result i32)))
    (import "iroha" "log" (func $log (param i32 i32)))
    (import "iroha" "dbg" (func $dbg (param i32 i32)))
    (import "iroha" "set_data_model" (func $sdm (param i32 i32)))
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 4096))
    (func (export "_iroha_smart_contract_alloc") (param i32) (result i32) (local $p i32)
      ${o.alloc ?? '(local.set $p (global.get $bump)) (global.set $bump (i32.add (local.get $p) (local.get 0))) (local.get $p)'})
    (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
    (func (export "_iroha_executor_execute_instruction") (param i32) (result i32) ${o.verdict ?? '(i32.store (i32.const 16) (i32.const 5)) (i32.store8 (i32.const 20) (i32.const 0)) (i32.const 16)'})
    (func (export "_iroha_smart_contract_main") (param i32) ${o.main ?? ''}))`;
}
const CTX = b64('context');
const VALIDATE = '_iroha_executor_execute_instruction';
const prefix = (total: number, bytes = '') => `(i32.store (i32.const 16) (i32.const ${total})) ${bytes} (i32.const 16)`;

const bogus: Case[] = [
  { name: 'iroha: a verdict Ok(()) (control)', wasm: iroha(), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'ok', check: (t, b) => t.same(b.iroha.verdict, { ok: true }) } },
  { name: 'iroha length: a verdict prefix of 0xFFFFFFFF', wasm: iroha({ verdict: prefix(-1) }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: 'the executor returned no readable verdict at 16: length-prefixed buffer at 16 of 4294967295 bytes is out of bounds of 65536 bytes of memory' } },
  { name: 'iroha length: a verdict prefix smaller than itself', wasm: iroha({ verdict: prefix(2) }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: 'the executor returned no readable verdict at 16: length prefix at 16 is 2, less than its own 4 bytes' } },
  { name: 'iroha length: a verdict prefix of 0', wasm: iroha({ verdict: prefix(0) }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: /length prefix at 16 is 0, less than its own 4 bytes/ } },
  { name: 'iroha length: a verdict pointer at the last bytes of memory', wasm: iroha({ verdict: '(i32.const 65534)' }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: 'the executor returned no readable verdict at 65534: length prefix at 65534 is out of bounds of 65536 bytes of memory' } },
  { name: 'iroha length: a verdict pointer of 0xFFFFFFFF', wasm: iroha({ verdict: '(i32.const -1)' }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: /^the executor returned no readable verdict at 4294967295: / } },
  { name: 'iroha length: a verdict that is not a Result', wasm: iroha({ verdict: prefix(7, '(i32.store (i32.const 20) (i32.const 0x07070707))') }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: /^the executor returned a verdict that is not a Result<\(\), ValidationFail>: / } },
  { name: 'iroha length: a verdict with trailing bytes', wasm: iroha({ verdict: prefix(9, '(i32.store (i32.const 20) (i32.const 0))') }), request: { entrypoint: VALIDATE, iroha: { context: CTX } }, expect: { kind: 'trap', message: /^the executor returned a verdict that is not a Result<\(\), ValidationFail>: / } },
  { name: 'iroha alloc: the allocator returns a pointer outside memory for the context', wasm: iroha({ alloc: '(i32.const -16)' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: /^out of bounds memory access: host\.the context \(_iroha_smart_contract_alloc result\) given 4294967280\.\.\d+ but memory is 65536 bytes$/ } },
  { name: 'iroha alloc: the allocator loops forever', wasm: iroha({ alloc: '(loop $l (br $l)) (i32.const 0)' }), request: { iroha: { context: CTX }, limits: { fuel: 1_000_000 } }, expect: { kind: 'out_of_fuel', message: 'all fuel consumed: the limit is 1000000' } },
  { name: 'iroha alloc: the allocator for a query answer returns garbage', wasm: iroha({ alloc: '(if (result i32) (i32.gt_u (global.get $bump) (i32.const 4096)) (then (i32.const 70000)) (else (global.set $bump (i32.const 8192)) (i32.const 4096)))', main: '(drop (call $eq (i32.const 0) (i32.const 1)))' }), request: { iroha: { context: CTX, queryResponses: [b64(I.emptyIterable('Account'))] } }, expect: { kind: 'trap', message: /^out of bounds memory access: host\.iroha\.execute_query \(_iroha_smart_contract_alloc result\) given 70000\.\./ } },
  { name: 'iroha range: log with a length of 0xFFFFFFFF', wasm: iroha({ main: '(call $log (i32.const 0) (i32.const -1))' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: /^iroha\.log: out of bounds memory access: host\.log given 0\.\.4294967295 but memory is 65536 bytes$/ } },
  { name: 'iroha range: execute_instruction past the end of memory', wasm: iroha({ main: '(drop (call $ei (i32.const 65530) (i32.const 100)))' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: /^out of bounds memory access: host\.execute_instruction given 65530\.\.65630/ } },
  { name: 'iroha scale: a log line with level 9', wasm: iroha({ main: '(i32.store8 (i32.const 0) (i32.const 9)) (call $log (i32.const 0) (i32.const 2))' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: /log/ } },
  { name: 'iroha scale: a dbg String whose length prefix runs past its bytes', wasm: iroha({ main: '(i32.store8 (i32.const 0) (i32.const 0xfc)) (call $dbg (i32.const 0) (i32.const 1))' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: /dbg/ } },
  { name: 'iroha: set_data_model outside migrate', wasm: iroha({ main: '(call $sdm (i32.const 0) (i32.const 1))' }), request: { iroha: { context: CTX } }, expect: { kind: 'trap', message: 'iroha.set_data_model may only be called from _iroha_executor_migrate, not from _iroha_smart_contract_main' } },
  { name: 'iroha: queryResponses that run out', wasm: iroha({ main: '(drop (call $eq (i32.const 0) (i32.const 1))) (drop (call $eq (i32.const 0) (i32.const 1)))' }), request: { iroha: { context: CTX, queryResponses: [b64(I.emptyIterable('Account'))] } }, expect: { kind: 'trap', message: /iroha\.execute_query: query 2 has no answer: iroha\.queryResponses holds 1/ } },
  { name: 'iroha: 1 MB of context', wasm: iroha({ alloc: '(local.set $p (global.get $bump)) (drop (memory.grow (i32.const 16))) (global.set $bump (i32.add (local.get $p) (local.get 0))) (local.get $p)' }), request: { iroha: { context: b64(new Uint8Array(1_000_000)) } }, expect: { kind: 'ok' } },
  { name: 'iroha: a context larger than the memory can take', wasm: iroha({ alloc: '(i32.const 0)' }), request: { iroha: { context: b64(new Uint8Array(70_000)) } }, expect: { kind: 'trap', message: /^out of bounds memory access: host\.the context/ } },
  { name: 'iroha: a module importing host ABI v1 too', wasm: iroha().replace('(memory', '(import "host" "output" (func (param i32 i32))) (memory'), request: { iroha: { context: CTX } }, expect: { status: 422, kind: 'link_error', message: /host\.output/ } },
  { name: 'iroha: a module without the allocator', wasm: iroha().replace('(export "_iroha_smart_contract_alloc")', ''), request: { iroha: { context: CTX } }, expect: { status: 422, kind: 'link_error', message: /_iroha_smart_contract_alloc/ } },
  { name: 'iroha: a callback to another origin', wasm: iroha(), request: { iroha: { context: CTX, callback: 'http://10.1.2.3:9000/iroha' } }, expect: { status: 400, kind: 'bad_request', message: /iroha\.callbackOrigins/ } },
  { name: 'iroha: a callback that is not a URL', wasm: iroha(), request: { iroha: { context: CTX, callback: 'javascript:alert(1)' } }, expect: { status: 400, kind: 'bad_request', message: /iroha\.callback/ } },
  { name: 'iroha: a callback with credentials in the URL', wasm: iroha(), request: { iroha: { context: CTX, callback: 'http://user:pw@127.0.0.1:9/iroha' } }, expect: { status: 400, kind: 'bad_request', message: /iroha\.callback/ } },
];
t.test('Iroha modules answering bogus lengths', async (t) => runCases(t, h, bogus));

// --- peers that misbehave ---------------------------------------------------------------------------
type Behaviour = (rq: IncomingMessage, rs: ServerResponse) => void;
async function peer(t: { teardown: (f: () => void) => void }, behave: Behaviour): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = createServer((rq, rs) => {
    hits++;
    rq.resume();
    rq.on('end', () => behave(rq, rs));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/iroha`, hits: () => hits };
}

const ONE_CALL = iroha({ main: '(drop (call $ei (i32.const 0) (i32.const 1)))' });
const timers = new Set<NodeJS.Timeout>();
t.teardown(() => timers.forEach(clearInterval));

interface PeerCase {
  name: string;
  behave: Behaviour;
  expect: { kind: string; message?: RegExp };
  wasm?: string;
  limits?: Record<string, number>;
  todo?: string;
}
const peers: PeerCase[] = [
  { name: 'peer: never answers', behave: () => {}, expect: { kind: 'host_error', message: new RegExp(`^iroha\\.execute_instruction: the peer callback POST http://127\\.0\\.0\\.1:\\d+/iroha/instruction failed: .*no answer within ${CALLBACK_MS} ms`) } },
  { name: 'peer: sends headers, then nothing', behave: (_q, s) => void s.writeHead(200, { 'content-type': 'application/octet-stream' }).write(''), expect: { kind: 'host_error', message: new RegExp(`no answer within ${CALLBACK_MS} ms`) } },
  {
    name: 'peer: drips one byte every 50 ms',
    behave: (_q, s) => {
      s.writeHead(200);
      const i = setInterval(() => (s.destroyed ? clearInterval(i) : s.write('\0')), 50);
      timers.add(i);
    },
    expect: { kind: 'host_error', message: new RegExp(`no answer within ${CALLBACK_MS} ms`) },
  },
  { name: 'peer: answers 10 MB', behave: (_q, s) => void s.writeHead(200).end(Buffer.alloc(10_000_000)), expect: { kind: 'host_error', message: new RegExp(String(MAX_ANSWER)) } },
  { name: 'peer: claims a Content-Length of 10 GB', behave: (_q, s) => void s.writeHead(200, { 'content-length': '10000000000' }).write(Buffer.alloc(1000)), expect: { kind: 'host_error', message: /iroha\.execute_instruction: the peer callback/ } },
  {
    name: 'peer: streams chunks forever',
    behave: (_q, s) => {
      s.writeHead(200);
      const i = setInterval(() => (s.destroyed ? clearInterval(i) : s.write(Buffer.alloc(16384))), 1);
      timers.add(i);
    },
    expect: { kind: 'host_error', message: /iroha\.execute_instruction: the peer callback/ },
  },
  { name: 'peer: drops the connection', behave: (q) => q.socket.destroy(), expect: { kind: 'host_error', message: /iroha\.execute_instruction: the peer callback POST .* failed: / } },
  { name: 'peer: redirects to another origin', behave: (_q, s) => void s.writeHead(302, { location: 'http://10.1.2.3:9000/iroha/instruction' }).end(), expect: { kind: 'host_error', message: /failed: the peer answered with a redirect \(redirects are refused\)$/ } },
  { name: 'peer: answers HTTP 500', behave: (_q, s) => void s.writeHead(500).end('oops'), expect: { kind: 'host_error', message: /answered HTTP 500/ } },
  { name: 'peer: answers 200 with an empty body (the module does not decode; ok)', behave: (_q, s) => void s.writeHead(200).end(), expect: { kind: 'ok' } },
  {
    name: 'peer: a module calling the peer in a loop runs out of fuel',
    wasm: iroha({ main: '(loop $l (drop (call $ei (i32.const 0) (i32.const 1))) (br $l))' }),
    behave: (_q, s) => void s.writeHead(200).end(Buffer.from([0])),
    // 200 fuel: ~16 callbacks before it runs out (each costs the peer and the server a request)
    limits: { fuel: 200, timeoutMs: 15_000 },
    expect: { kind: 'out_of_fuel', message: /all fuel consumed: the limit is 200$/ },
  },
];

for (const c of peers) {
  t.test(c.name, async (t) => {
    const p = await peer(t, c.behave);
    const payload = { contract: { wasm: b64(await wat(c.wasm ?? ONE_CALL)) }, iroha: { context: CTX, callback: p.url }, ...(c.limits ? { limits: c.limits } : {}) };
    const started = performance.now();
    const r = await execute(app, payload);
    const ms = performance.now() - started;
    assertExpect(t, r, c.expect, config, payload, ms);
    t.ok(ms < (c.limits?.timeoutMs ?? CALLBACK_MS) + 10_000, `answered in ${Math.round(ms)} ms, bounded by the callback timeout plus a margin`);
    // a callback given up after its 300 ms may not have reached the peer yet on a loaded machine
    const gaveUp = /no answer within/.test(r.body.error?.message ?? '');
    t.ok(p.hits() >= 1 || gaveUp, `the peer was called (${p.hits()} times)${gaveUp ? ', or the callback was given up first' : ''}`);
    await assertHealthy(t, h);
  });
}

t.test('peer: the real trigger given a garbage instruction answer is the module\'s own trap', async (t) => {
  const put = await req(app, { method: 'PUT', url: '/modules', payload: readFileSync(new URL('../../examples/iroha/mint_rose_trigger.wasm', import.meta.url)), headers: { 'content-type': 'application/wasm' } });
  t.ok(put.status === 201 || put.status === 200, 'stored');
  const p = await peer(t, (_q, s) => void s.writeHead(200).end(Buffer.from([0xff, 0xee, 0xdd])));
  const alice = I.aliceAccount();
  const context = I.triggerContext({ id: 'mint_rose', authority: alice, block: I.genesisBlock(), event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) });
  const payload = { contract: { hash: put.body.hash }, iroha: { context: b64(context), callback: p.url } };
  const started = performance.now();
  const r = await execute(app, payload);
  assertExpect(t, r, { kind: 'trap' }, config, payload, performance.now() - started);
  await assertHealthy(t, h);
});

t.test('peers: a burst of hanging callbacks at once; then healthy', async (t) => {
  const p = await peer(t, () => {});
  // queued behind each other on one worker: the time limit is the ceiling, so the last does not time out on a loaded machine
  const payload = { contract: { wasm: b64(await wat(ONE_CALL)) }, iroha: { context: CTX, callback: p.url }, limits: { timeoutMs: config.limits.max.timeoutMs } };
  const started = performance.now();
  const rs = await Promise.all(Array.from({ length: 6 }, () => execute(app, payload)));
  const ms = performance.now() - started;
  t.same(rs.map((r) => `${r.status} ${r.body.error?.kind}`), Array(6).fill('200 host_error'), 'each one host_error');
  // one worker: six callbacks of 300 ms in a row
  t.ok(ms < 6 * CALLBACK_MS + 10_000, `all answered in ${Math.round(ms)} ms`);
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});
