/**
 * A batch never repeats a side effect: with Iroha calls answered by a real HTTP peer that counts what
 * it is sent, a batch in which one call runs out of time (or loses its worker) sends every instruction
 * exactly once — the calls that finished keep their answers, the timed-out call answers `timeout`, the
 * calls after it run afterwards — and a run repeated for exact fuel answers from the record.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { b64, req, startApp, wat } from '../support/http.js';
import { startProcessApp } from '../support/process-app.js';
import * as I from '../support/iroha.js';

// a worker's first callback starts its I/O thread, slow on a loaded machine: not what is tested here.
// No seeding: every module here is sent inline (seeding stores 6.7 MB of examples/iroha at each start).
const IROHA = { iroha: { callbackTimeoutMs: 10_000 }, seedExamples: false };
// the spawned production process (dist/server.js), every request over a socket
const { app } = await startProcessApp(t, IROHA);
const batch = (calls: unknown[], on = app) => req(on, { method: 'POST', url: '/execute/batch', payload: { calls } });

/** The peer: answers every instruction Ok(()), and counts them. */
const sent: Buffer[] = [];
const server = createServer(async (rq, rs) => {
  const chunks: Buffer[] = [];
  for await (const c of rq) chunks.push(c as Buffer);
  if (rq.url === '/iroha/instruction') sent.push(Buffer.concat(chunks));
  rs.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(I.verdictBytes.ok()));
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
t.teardown(() => {
  server.closeAllConnections();
  server.close();
});
const callback = `http://127.0.0.1:${(server.address() as AddressInfo).port}/iroha`;

const trigger = b64(new Uint8Array(readFileSync(new URL('../../examples/iroha/mint_rose_trigger.wasm', import.meta.url))));
const alice = I.aliceAccount();
const mint = (val: number) => ({
  contract: { wasm: trigger },
  iroha: {
    context: b64(I.triggerContext({ id: 'mint_rose', authority: alice, block: I.genesisBlock(), event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: `{"val":${val}}` }) })),
    callback,
  },
});
const spin = b64(await wat('(module (func (export "main") (loop $l (br $l))))'));
const stuck = { contract: { wasm: spin }, limits: { fuel: 10_000_000_000, timeoutMs: 300 } };
/** A small Iroha smart contract: a bump allocator, and `main` (its locals and body) sending what it likes. */
const irohaGuest = (main: string) =>
  wat(`(module
  (import "iroha" "execute_instruction" (func $instr (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $next (mut i32) (i32.const 4096))
  (func (export "_iroha_smart_contract_alloc") (param $n i32) (result i32)
    global.get $next global.get $next local.get $n i32.add global.set $next)
  (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
  (func (export "_iroha_smart_contract_main") (param $ctx i32) ${main}))`);

/** An Iroha guest that sends one instruction (16 bytes at 0), then traps: its run is repeated for exact fuel. */
const sendThenTrap = b64(
  await irohaGuest(`(local $i i32)
    (loop $l local.get $i i32.const 1 i32.add local.tee $i i32.const 1000 i32.lt_u br_if $l)
    i32.const 0 i32.const 16 call $instr drop
    unreachable`),
);

t.test('one call times out: each instruction reaches the peer once, every other call is answered', async (t) => {
  sent.length = 0;
  const r = await batch([mint(1), mint(2), stuck, mint(3), { contract: { wasm: sendThenTrap }, iroha: { context: '', callback } }]);
  t.equal(r.status, 200);
  const kinds = r.body.results.map((x: any) => x.error?.kind ?? 'ok');
  t.same(kinds, ['ok', 'ok', 'timeout', 'ok', 'trap'], JSON.stringify(r.body.results.map((x: any) => x.error)));
  t.equal(sent.length, 4, 'four instructions, each sent once (the three mints, then the trapping guest\'s)');
  const recorded = [0, 1, 3, 4].flatMap((i) => r.body.results[i].iroha.instructions);
  t.same(sent.map((b) => b.toString('base64')), recorded, 'exactly what the answers recorded, in order');
  t.ok(r.body.results[2].timings.executeMs >= 250, 'the timed-out call ran until its limit');
  t.ok(r.body.results[3].timings.queueMs >= r.body.results[2].timings.executeMs, "the call after it waited for it, and says so");
});

/** An Iroha guest that sends one instruction (16 bytes at 0) and returns: a small stand-in for the trigger. */
const sendOnce = b64(await irohaGuest('i32.const 0 i32.const 16 call $instr drop'));

t.test('the worker is lost under a call: the calls before it keep their answers, those after it run', async (t) => {
  sent.length = 0;
  const forever = { contract: { wasm: spin }, limits: { fuel: 10_000_000_000, timeoutMs: 20_000 } };
  // a small guest instead of the 660 KB trigger (test 1 runs that against the server): this process
  // would instrument it, and two workers compile it, ~1 CPU-s for what the worker's loss does not touch
  const send = { contract: { wasm: sendOnce }, iroha: { context: '', callback } };
  // in-process: a worker is stopped from inside (as a crash would), which a spawned server offers no way to do
  const { app: local } = await startApp(t, IROHA);
  const running = batch([send, forever, send], local);
  for (let i = 0; i < 500 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 100));
  await local.executionPool.killWorker(0);
  const r = await running;
  t.equal(r.status, 200);
  t.equal(r.body.results[0].ok, true);
  t.equal(r.body.results[1].status, 503);
  t.equal(r.body.results[1].error.kind, 'worker_lost');
  t.match(r.body.results[1].error.message, /this call did not finish \(the calls before it did, and those after it ran\): retry this call alone/);
  t.equal(r.body.results[2].ok, true);
  t.equal(sent.length, 2, 'each instruction sent once');
  t.same(sent.map((b) => b.toString('base64')), [...r.body.results[0].iroha.instructions, ...r.body.results[2].iroha.instructions], 'exactly what the answers recorded');
});
