/**
 * The Iroha profile over HTTP: Iroha's real modules by hash with `iroha.context`, answers from
 * `queryResponses` or from a peer served by a test HTTP server (the execution blocks its worker while
 * the peer answers), and every failure of the peer as `host_error`, never a hang; the allow-list.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { assertError, assertExecuteShape, b64, execute, req, startApp } from '../support/http.js';
import * as I from '../support/iroha.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../../examples/iroha/${name}.wasm`, import.meta.url)));
// no seeding: the modules are uploaded below (seeding stores all 6.7 MB of examples/iroha at start)
const { app } = await startApp(t, { seedExamples: false, iroha: { callbackOrigins: ['loopback'], callbackTimeoutMs: 1500, maxCallbackResponseBytes: 65536 } });

const hashes: Record<string, string> = {};
t.before(async () => {
  for (const name of ['default_executor', 'mint_rose_trigger', 'query_assets_and_save_cursor']) {
    const r = await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(fixture(name)), headers: { 'content-type': 'application/wasm' } });
    t.equal(r.status, 201, `${name} stored`);
    hashes[name] = r.body.hash;
  }
});

/** A peer: answers queries from a list in order and instructions with `instructionAnswer`; records both. */
interface Peer {
  url: string;
  queries: Buffer[];
  instructions: Buffer[];
  server: Server;
}
async function peer(o: { queryAnswers?: Uint8Array[]; instructionAnswer?: Uint8Array; status?: number; hang?: boolean; huge?: boolean } = {}): Promise<Peer> {
  const p: Peer = { url: '', queries: [], instructions: [], server: createServer() };
  let next = 0;
  p.server.on('request', async (rq, rs) => {
    const chunks: Buffer[] = [];
    for await (const c of rq) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (o.hang) return; // never answers (closed at teardown)
    if (rq.url === '/iroha/query') p.queries.push(body);
    else if (rq.url === '/iroha/instruction') p.instructions.push(body);
    if (o.huge) return void rs.writeHead(200).end(Buffer.alloc(100_000));
    const answer = rq.url === '/iroha/query' ? (o.queryAnswers?.[next++] ?? new Uint8Array()) : (o.instructionAnswer ?? I.verdictBytes.ok());
    rs.writeHead(o.status ?? 200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(answer));
  });
  p.server.listen(0, '127.0.0.1');
  await once(p.server, 'listening');
  p.url = `http://127.0.0.1:${(p.server.address() as AddressInfo).port}/iroha`;
  t.teardown(() => {
    p.server.closeAllConnections();
    p.server.close();
  });
  return p;
}

const alice = I.aliceAccount();
const migrate = (iroha: Record<string, unknown>) =>
  execute(app, { contract: { hash: hashes.default_executor }, entrypoint: '_iroha_executor_migrate', iroha: { context: b64(I.executorContext(alice, I.genesisBlock())), ...iroha } });
const triggerBody = (iroha: Record<string, unknown> = {}) => ({
  contract: { hash: hashes.mint_rose_trigger },
  iroha: {
    context: b64(I.triggerContext({ id: 'mint_rose', authority: alice, block: I.genesisBlock(), event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) })),
    ...iroha,
  },
});

t.test('queryResponses: default_executor migrates over HTTP', async (t) => {
  const r = await migrate({ queryResponses: [b64(I.emptyIterable('Account')), b64(I.emptyIterable('Role'))] });
  t.equal(r.status, 200);
  assertExecuteShape(t, r.body, { library: false });
  t.equal(r.body.ok, true, JSON.stringify(r.body.error));
  t.equal(r.body.iroha.queries.length, 2);
  t.type(r.body.iroha.dataModel, 'string');
  t.equal(r.body.fuel.consumed, 772700, 'the fuel real wasmtime counts for this run (test/engine/iroha.test.ts)');
});

t.test('a peer answering by callback: the same queries reach it, its answers reach the module', async (t) => {
  const p = await peer({ queryAnswers: [I.emptyIterable('Account'), I.emptyIterable('Role')] });
  const r = await migrate({ callback: p.url });
  t.equal(r.body.ok, true, JSON.stringify(r.body.error));
  t.same(p.queries.map((q) => q.toString('base64')), r.body.iroha.queries, 'the peer got exactly the recorded queries');
  t.equal(r.body.fuel.consumed, 772700, 'the same fuel as with queryResponses');

  const trigger = await peer();
  const m = await execute(app, triggerBody({ callback: trigger.url }));
  t.equal(m.body.ok, true, JSON.stringify(m.body.error));
  t.equal(trigger.instructions.length, 1, 'the Mint was posted to the peer');
  t.same([trigger.instructions[0]!.toString('base64')], m.body.iroha.instructions);

  const refusing = await peer({ instructionAnswer: I.verdictBytes.notPermitted('no roses today') });
  const refused = await execute(app, triggerBody({ callback: refusing.url }));
  t.equal(refused.body.ok, false, 'the peer refused the instruction: the trigger fails');
  t.equal(refusing.instructions.length, 1);
});

t.test('a failing peer is host_error, never a hang', async (t) => {
  const dead = await peer();
  const deadUrl = dead.url;
  dead.server.close();
  await once(dead.server, 'close');
  const a = await execute(app, triggerBody({ callback: deadUrl }));
  t.equal(a.status, 200);
  t.equal(a.body.error.kind, 'host_error');
  t.match(a.body.error.message, /iroha\.execute_instruction: the peer callback POST http:\/\/127\.0\.0\.1:\d+\/iroha\/instruction failed: .*(refused|ECONNREFUSED)/i);

  const slow = await peer({ hang: true });
  const started = Date.now();
  const b = await execute(app, triggerBody({ callback: slow.url }));
  t.equal(b.body.error.kind, 'host_error');
  t.match(b.body.error.message, /no answer within 1500 ms/);
  t.ok(Date.now() - started < 5000, 'answered soon after the per-call timeout');

  const broken = await peer({ status: 500 });
  const c = await execute(app, triggerBody({ callback: broken.url }));
  t.equal(c.body.error.kind, 'host_error');
  t.match(c.body.error.message, /answered HTTP 500/);

  const flood = await peer({ huge: true });
  const d = await execute(app, triggerBody({ callback: flood.url }));
  t.equal(d.body.error.kind, 'host_error');
  t.match(d.body.error.message, /65536/);

  const ok = await execute(app, triggerBody());
  t.equal(ok.body.ok, true, 'the service is fine afterwards');
});

t.test('requests that are refused', async (t) => {
  assertError(t, await execute(app, triggerBody({ callback: 'http://10.1.2.3:9000/iroha' })), 400, 'bad_request', /iroha\.callback: .*10\.1\.2\.3:9000.*iroha\.callbackOrigins/);
  assertError(t, await execute(app, triggerBody({ callback: 'http://127.0.0.1:9/iroha?x=1' })), 400, 'bad_request', /a base URL: no query string or fragment/);
  assertError(t, await execute(app, triggerBody({ queryResponses: ['not base64!'] })), 400, 'bad_request', /iroha\.queryResponses\[0\] is not valid base64/);
  assertError(t, await execute(app, { ...triggerBody(), library: { hash: hashes.default_executor } }), 400, 'bad_request', /runs one module/);
  assertError(t, await execute(app, { contract: { hash: hashes.mint_rose_trigger }, entrypoint: '_iroha_trigger_main', args: [0] }), 422, 'link_error', /give the request an `iroha` object/);
  assertError(t, await execute(app, { contract: { hash: hashes.mint_rose_trigger }, iroha: {} }), 400, 'bad_request');
});
