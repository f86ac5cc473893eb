/**
 * A batch's answer has a byte budget (maxBatchResponseBytes): a call starts only while the answer so
 * far plus the largest answer one call can give (from engine.output) fits; the calls after that are
 * not run and answer 413 too_large, and the answer is a 200 within the budget, never a 500. Iroha
 * records count against engine.output, so calls that try to record megabytes answer small traps.
 */
import t from 'tap';
import { maxAnswerBytes } from '../../src/engine/answer-bound.js';
import { b64, req, wat } from '../support/http.js';
import { RECORD_FLOOD_WAT } from '../support/iroha.js';
import { startProcessApp } from '../support/process-app.js';

const BUDGET = 600_000;
const output = { maxOutputBytes: 65536, maxLogLines: 16, maxLogLineBytes: 256 };
// no seeding: every module here is inline (seeding prepares the examples and stores 6.7 MB of Iroha's)
const { app } = await startProcessApp(t, { seedExamples: false, maxBatchResponseBytes: BUDGET, engine: { output } });
const PER_CALL = maxAnswerBytes(output); // 183,320 bytes
const batch = (calls: unknown[]) => req(app, { method: 'POST', url: '/execute/batch', payload: { calls } });

/** Writes `n` bytes of output (its answer: their base64, about 88 KB for 64 KiB). */
const writer = b64(await wat('(module (import "host" "output" (func $out (param i32 i32))) (memory 2) (func (export "main") (param $n i32) i32.const 0 local.get $n call $out))'));
const full = { contract: { wasm: writer }, args: [65536] };

t.test('calls past the budget are not run: 413 too_large, and the answer stays within it', async (t) => {
  const r = await batch(Array.from({ length: 8 }, () => full));
  t.equal(r.status, 200);
  t.ok(r.text.length <= BUDGET, `the answer is ${r.text.length} bytes, within ${BUDGET}`);
  const ran = r.body.results.filter((x: any) => x.ok === true).length;
  // ~88 KB each: after 5 the answer (~440 KB) + one more call's largest answer (183 KB) is over 600 KB
  t.equal(ran, 5);
  t.same(r.body.results.slice(0, ran).map((x: any) => x.ok), Array(ran).fill(true), 'those that ran come first, whole');
  for (const x of r.body.results.slice(ran)) {
    t.equal(x.status, 413);
    t.equal(x.error.kind, 'too_large');
    t.match(
      x.error.message,
      new RegExp(`^not run: this batch's answer is \\d+ bytes so far and one more call may add up to ${PER_CALL} \\(engine\\.output\\), over its budget of ${BUDGET} bytes \\(maxBatchResponseBytes\\): send this call and those after it in another batch \\(none of them ran\\)$`),
    );
  }
  const small = await batch(Array.from({ length: 8 }, () => ({ contract: { wasm: writer }, args: [10] })));
  t.same(small.body.results.map((x: any) => x.ok), Array(8).fill(true), 'small answers: every call runs');
});

t.test('an answer larger than one call\'s bound (a long callback URL in a message) is cut, not sent', async (t) => {
  const sender = b64(
    await wat(`(module
  (import "iroha" "execute_instruction" (func $instr (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_iroha_smart_contract_alloc") (param i32) (result i32) i32.const 4096)
  (func (export "_iroha_smart_contract_dealloc") (param i32 i32))
  (func (export "_iroha_smart_contract_main") (param $ctx i32) i32.const 0 i32.const 1 call $instr drop))`),
  );
  // nothing listens on port 9: host_error, whose message names the 300 KB URL
  const long = { contract: { wasm: sender }, iroha: { context: '', callback: `http://127.0.0.1:9/${'a'.repeat(300_000)}` } };
  const r = await batch([full, full, full, full, long, full]);
  t.equal(r.status, 200);
  t.ok(r.text.length <= BUDGET, `${r.text.length} <= ${BUDGET}`);
  t.same(r.body.results.slice(0, 4).map((x: any) => x.ok), [true, true, true, true]);
  t.equal(r.body.results[4].status, 413);
  t.match(r.body.results[4].error.message, /^ran \(outcome host_error, \d+ fuel\), but its answer of \d+ bytes does not fit in what is left of this batch's budget \(\d+ of 600000 bytes, maxBatchResponseBytes\): its answer is lost; do not send it again unless running it twice is harmless$/);
  t.equal(r.body.results[5].ok, true, 'the next still fits, and runs');
});

t.test('Iroha calls that try to record megabytes answer small traps', async (t) => {
  const flood = b64(
    await wat(RECORD_FLOOD_WAT),
  );
  const call = { contract: { wasm: flood }, iroha: { context: '' }, limits: { memoryBytes: 17_039_360 } };
  const r = await batch(Array.from({ length: 8 }, () => call));
  t.equal(r.status, 200);
  t.ok(r.text.length < 64 * 1024, `a small answer (${r.text.length} bytes)`);
  for (const x of r.body.results) {
    t.equal(x.error.kind, 'trap');
    t.match(x.error.message, /^iroha\.execute_instruction: record limit exceeded: .*at most 65536 bytes.* this one is 16777216 bytes and 0 are recorded$/);
  }
});
