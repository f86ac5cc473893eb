/**
 * The Iroha inputs built from JSON (src/cli/iroha/, `iroha-context` / `iroha-answer`): the JSON forms give
 * the bytes of the SCALE builders for the same values and the bytes Iroha's own modules send; a real
 * executor (executor_with_admin, run by its admin, executes whatever it validates) decodes every
 * instruction, query and transaction form and re-encodes it byte for byte; failures decode as the
 * engine reads them; a mistake in the JSON names its path and the form expected. The commands
 * themselves in process, and the command line once (spawned).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { DEFAULT_ENGINE_CONFIG, DEFAULT_LIMITS } from '../../src/engine/defaults.js';
import { execute } from '../../src/engine/execute.js';
import { decodeVerdict } from '../../src/engine/profiles/iroha/scale.js';
import { parseAnswer } from '../../src/cli/iroha/answers.js';
import { buildContext } from '../../src/cli/iroha/context.js';
import { parseInstruction } from '../../src/cli/iroha/instructions.js';
import { root } from '../../src/cli/iroha/json-read.js';
import { HELP, parseRunArgs } from '../../src/cli/args.js';
import { irohaAnswerCommand, irohaContextCommand } from '../../src/cli/iroha-command.js';
import { makeJob } from '../../src/cli/run.js';
import { prep } from '../support/engine.js';
import { plainNode } from '../support/plain-node.js';
import * as I from '../support/iroha.js';
import { MAIN, TmpDir, ensureBuilt } from './cli-support.js';

const hex = I.toHex;
const ALICE_KEY = 'A1'.repeat(32);
const ALICE = `ed0120${ALICE_KEY}@wonderland`;
const BOB = `ed0120${'B0'.repeat(32)}@wonderland`;
const ADMIN = 'ed012076E5CA9698296AF9BE2CA45F525CB3BCFDEB7EE068BA56F973E9DD90564EF4FC@admin';
const { alice, admin, genesis, block2, rose } = I.FIXTURE;
const ctx = (json: unknown) => buildContext(root(json, 'ctx.json'));
const GENESIS = { height: 1, transactions_hash: hex(I.irohaHash(0x11)), creation_time_ms: 1_700_000_000_000 };
const BLOCK2 = { height: 2, prev_block_hash: hex(I.irohaHash(0x22)), transactions_hash: hex(I.irohaHash(0x33)), creation_time_ms: 1_700_000_001_000 };

t.test('contexts: the bytes of the SCALE builders for the same values', async (t) => {
  t.same(ctx({ kind: 'executor', authority: ADMIN, curr_block: GENESIS }), { kind: 'executor', entrypoint: '_iroha_executor_migrate', context: I.executorContext(admin, genesis) });
  const sc = ctx({ kind: 'smart-contract', authority: { domain: 'wonderland', public_key: `ed0120${ALICE_KEY.toLowerCase()}` }, curr_block: BLOCK2 });
  t.same(sc.context, I.smartContractContext(alice, block2), 'an account as {domain, public_key}, lower-case hex');
  t.same(ctx({ kind: 'smart-contract', authority: { domain: 'wonderland', key: ALICE_KEY }, curr_block: BLOCK2 }).context, sc.context, '{domain, key}: Ed25519 by default');
  const trigger = ctx({ kind: 'trigger', id: 'mint_rose', authority: ALICE, curr_block: BLOCK2, event: { ExecuteTrigger: { args: { val: 3 } } } });
  t.same(trigger.context, I.triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) }));
  t.equal(trigger.entrypoint, '_iroha_trigger_main');
  const time = ctx({ kind: 'trigger', id: 'mint_rose', authority: ALICE, curr_block: BLOCK2, event: { Time: { interval: { since_ms: 0, length_ms: 1000 } } } });
  t.same(time.context, I.triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: I.timeEvent(0, 1000) }));
  const v = ctx({ kind: 'validate-instruction', authority: ALICE, curr_block: BLOCK2, target: { SetKeyValue: { Account: { object: BOB, key: 'k', value: 1 } } } });
  t.same(v.context, I.validateInstruction(I.executorContext(alice, block2), I.setAccountKeyValue(I.FIXTURE.bob, 'k', '1')));
  t.equal(v.entrypoint, '_iroha_executor_execute_instruction');
  // defaults: height 1, no previous block, a placeholder transactions hash (odd last byte), time 0
  const d = ctx({ kind: 'executor', authority: ALICE });
  t.same(d.context, I.executorContext(alice, I.blockHeader({ height: 1, transactionsHash: Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? 1 : 0)), creationTimeMs: 0, viewChangeIndex: 0 })));
});

t.test('instructions, queries and answers: the bytes Iroha’s modules send and the builders give', async (t) => {
  const asset = `rose##${ALICE}`;
  t.equal(hex(parseInstruction(root({ Mint: { Asset: { object: '3', destination: asset } } }, 'x'))), hex(I.mintAssetNumeric(3, rose(alice))));
  t.equal(hex(parseInstruction(root({ Mint: { Asset: { object: '3', destination: `rose#wonderland#${ALICE}` } } }, 'x'))), hex(I.mintAssetNumeric(3, rose(alice))), 'the long asset form');
  t.equal(hex(parseInstruction(root({ Log: { level: 'INFO', msg: 'hi' } }, 'x'))), hex(I.logInstruction(2, 'hi')));
  t.equal(hex(parseInstruction(root({ Mint: { Asset: { object: '1.50', destination: asset } } }, 'x'))).slice(0, 10), '0200590208', 'Numeric 1.50: mantissa 150, scale 2 (compacts)');
  const query = ctx({ kind: 'validate-query', authority: ALICE, curr_block: BLOCK2, target: { Iterable: { query: 'FindAssets', params: { fetch_size: 1 } } } });
  t.ok(hex(query.context).endsWith('0102020000000000000000000000010100000000000000'), 'FindAssets, PASS, fetch size 1: what query_assets_and_save_cursor sends');
  const singular = ctx({ kind: 'validate-query', authority: ALICE, curr_block: BLOCK2, target: { Singular: { FindTriggerMetadata: { id: 'mint_rose', key: 'VAL' } } } });
  t.ok(hex(singular.context).endsWith('0007246d696e745f726f73650c56414c'), 'FindTriggerMetadata: what mint_rose_trigger sends');
  const answer = (json: unknown) => hex(parseAnswer(root(json, 'a.json')).bytes);
  t.equal(answer({ Ok: { Iterable: { batch: { Account: [] } } } }), hex(I.emptyIterable('Account')));
  t.equal(answer({ Ok: { Singular: { Json: 5 } } }), hex(I.singularJson('5')));
  t.equal(answer({ Ok: null }), '00');
  t.equal(
    answer({ Ok: { Iterable: { batch: { Asset: [{ id: asset, value: { Numeric: '7' } }] }, remaining_items: 1, continue_cursor: { query: 'q1', cursor: 1 } } } }),
    hex(I.assetsWithCursor({ query: 'q1', cursor: 1, remainingItems: 1, assets: [I.numericAsset(rose(alice), 7)] })),
  );
  t.equal(answer({ scale: '0001' }), '0001', 'any answer as its SCALE bytes');
  // failures, read back by the engine's verdict decoder
  const fail = (json: unknown) => decodeVerdict(parseAnswer(root({ Err: json }, 'a.json')).bytes);
  t.same(fail({ NotPermitted: 'no' }), { ok: false, reason: 'NotPermitted', message: 'no' });
  t.same(fail('TooComplex'), { ok: false, reason: 'TooComplex' });
  t.same(fail('InternalError'), { ok: false, reason: 'InternalError' });
  t.same(fail({ QueryFailed: 'NotFound' }), { ok: false, reason: 'QueryFailed', message: 'NotFound' });
  t.same(fail({ QueryFailed: { Find: { MetadataKey: 'VAL' } } }), { ok: false, reason: 'QueryFailed', message: 'Find(MetadataKey(VAL))' });
  t.same(fail({ InstructionFailed: { Math: 'Overflow' } }), { ok: false, reason: 'InstructionFailed', message: 'Math(Overflow)' });
  t.same(fail({ InstructionFailed: { Find: { Account: BOB } } }), { ok: false, reason: 'InstructionFailed', message: `Find(Account(${BOB}))` });
  t.same(fail({ InstructionFailed: { InvariantViolation: 'x' } }), { ok: false, reason: 'InstructionFailed', message: 'InvariantViolation(x)' });
});

t.test('a real executor decodes every form and re-encodes it byte for byte', async (t) => {
  const exec = prep(new Uint8Array(readFileSync(join(I.IROHA_FIXTURES, 'executor_with_admin.wasm'))));
  const run = (json: Record<string, unknown>) => {
    const c = ctx({ authority: ADMIN, curr_block: BLOCK2, ...json });
    return execute({ contract: exec, entrypoint: c.entrypoint, iroha: { context: c.context }, limits: DEFAULT_LIMITS }, DEFAULT_ENGINE_CONFIG);
  };
  const forms = [
    { Log: { level: 'ERROR', msg: 'hi' } },
    { SetKeyValue: { Account: { object: ALICE, key: 'k', value: { a: [1, 2] } } } },
    { SetKeyValue: { Domain: { object: 'wonderland', key: 'k', value: 1 } } },
    { SetKeyValue: { AssetDefinition: { object: 'rose#wonderland', key: 'k', value: 'x' } } },
    { SetKeyValue: { Asset: { object: `rose##${ALICE}`, key: 'k', value: null } } },
    { SetKeyValue: { Trigger: { object: 'mint_rose', key: 'k', value: true } } },
    { RemoveKeyValue: { Account: { object: ALICE, key: 'k' } } },
    { Mint: { Asset: { object: '1.50', destination: `rose#garden#${ALICE}` } } },
    { Mint: { TriggerRepetitions: { object: 5, destination: 'mint_rose' } } },
    { Burn: { Asset: { object: '2', destination: `rose##${ALICE}` } } },
    { Burn: { TriggerRepetitions: { object: 1, destination: 'mint_rose' } } },
    { Transfer: { Asset: { Numeric: { source: `rose##${ALICE}`, object: '1', destination: BOB } } } },
    { Transfer: { Domain: { source: ALICE, object: 'wonderland', destination: BOB } } },
    { Register: { Domain: { object: { id: 'garden', logo: '/ipfs/Qm', metadata: { b: 2, a: 1 } } } } },
    { Register: { Account: { object: { id: { domain: 'wonderland', algorithm: 'secp256k1', key: `02${'11'.repeat(32)}` } } } } },
    { ExecuteTrigger: { trigger: 'mint_rose', args: { val: 3 } } },
    { Custom: { payload: { x: 1 } } },
  ];
  for (const form of forms) {
    const r = run({ kind: 'validate-instruction', target: form });
    const name = JSON.stringify(form).slice(0, 60);
    t.same(r.iroha?.verdict, { ok: true }, `${name}: allowed (the admin)`);
    t.same(r.iroha?.instructions.map((b) => Buffer.from(b, 'base64').toString('hex')), [hex(parseInstruction(root(form, 'x')))], `${name}: executed as sent`);
  }
  const tx = run({ kind: 'validate-transaction', target: { chain: 'x', creation_time_ms: 5, time_to_live_ms: 100, nonce: 7, metadata: { a: 1 }, instructions: [forms[0], forms[7]] } });
  t.same(tx.iroha?.verdict, { ok: true }, 'a transaction decodes');
  t.same(tx.iroha?.instructions.map((b) => Buffer.from(b, 'base64').toString('hex')), [forms[0], forms[7]].map((f) => hex(parseInstruction(root(f, 'x')))), 'its instructions executed in order');
  const wasmTx = run({ kind: 'validate-transaction', target: { wasm: '0061736d01000000' } });
  t.same({ ok: wasmTx.ok, verdict: wasmTx.iroha?.verdict }, { ok: true, verdict: { ok: true } }, 'a transaction carrying a smart contract decodes');
  for (const q of [
    { Iterable: { query: 'FindAssets', params: { fetch_size: 1 } } },
    { Iterable: { query: { FindRolesByAccountId: { id: ALICE } }, params: { limit: 3, offset: 2, sort_by_metadata_key: 'k' } } },
    { Iterable: { query: { FindAccountsWithAsset: { asset_definition: 'rose#wonderland' } } } },
    { Singular: 'FindParameters' },
    { Singular: { FindAssetQuantityById: { id: `rose##${ALICE}` } } },
    { Singular: { FindAccountMetadata: { id: ALICE, key: 'k' } } },
  ]) {
    const r = run({ kind: 'validate-query', target: q });
    t.same({ ok: r.ok, verdict: r.iroha?.verdict }, { ok: true, verdict: { ok: true } }, `query ${JSON.stringify(q).slice(0, 60)} decodes`);
  }
});

t.test('a mistake names its JSON path and the form expected', async (t) => {
  const bad = (json: unknown, re: RegExp) => t.throws(() => ctx(json), re, JSON.stringify(json).slice(0, 70));
  const base = { kind: 'smart-contract', authority: ALICE };
  bad({ ...base, kind: 'contract' }, /^ctx\.json: \$\.kind: expected the kind of context: one of smart-contract, trigger, executor, validate-transaction, validate-instruction, validate-query, got "contract"$/);
  bad({ ...base, curr_block: { height: 0 } }, /^ctx\.json: \$\.curr_block\.height: expected a block height: an integer from 1 \(genesis is 1\), got 0$/);
  bad({ ...base, curr_block: { heigth: 2 } }, /^ctx\.json: \$\.curr_block: unknown field `heigth` in a block header; the fields are height, /);
  bad({ ...base, curr_block: { transactions_hash: '00'.repeat(32) } }, /\$\.curr_block\.transactions_hash: expected a hash whose last byte is odd/);
  bad({ ...base, authority: 'alice@wonderland' }, /\$\.authority \(before @\): expected a multihash public key as Iroha prints it/);
  bad({ ...base, authority: `ed0120${'A1'.repeat(31)}@wonderland` }, /its length byte says 32 key bytes, 31 follow/);
  bad({ ...base, authority: `ed0120${ALICE_KEY}@wonder land` }, /\$\.authority \(after @\): expected the domain: a Name, not empty, without white space/);
  bad({ ...base, id: 'x' }, /^ctx\.json: \$\.id: expected nothing: `id` is for trigger contexts, this one is smart-contract$/);
  bad({ kind: 'trigger', authority: ALICE, id: 'x' }, /\$\.event: expected `event`, which a trigger context needs/);
  bad({ kind: 'validate-instruction', authority: ALICE, target: { Mint: { Asset: { object: '-1', destination: `rose##${ALICE}` } } } }, /\$\.target\.Mint\.Asset\.object: expected a non-negative decimal number as a string/);
  bad({ kind: 'validate-instruction', authority: ALICE, target: { Launch: {} } }, /\$\.target: unknown instruction \(or \{"scale": "<hex>"\}\) `Launch`; expected one of Register, Mint/);
  bad({ kind: 'validate-instruction', authority: ALICE, target: { Log: { level: 'LOUD', msg: 'x' } } }, /\$\.target\.Log\.level: expected a log level: one of TRACE, DEBUG, INFO, WARN, ERROR, got "LOUD"/);
  bad({ ...base, queryResponses: [{ Ok: null }] }, /\$\.queryResponses\[0\]: expected a query answer .*\{"Ok": null\} answers an instruction/);
  bad({ ...base, queryResponses: [{ Ok: { Iterable: { batch: { Asset: [{ id: 'rose', value: { Numeric: '1' } }] } } } }] }, /\$\.queryResponses\[0\]\.Ok\.Iterable\.batch\.Asset\[0\]\.id: expected an asset "name#domain#<account>"/);
});

/** What a command printed (it writes synchronously to stdout), and its exit code or the error it threw. */
function capture(fn: () => number): { code: number; json: any } | { error: Error } {
  const write = process.stdout.write;
  let out = '';
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    const code = fn();
    return { code, json: JSON.parse(out) };
  } catch (e) {
    return { error: e as Error };
  } finally {
    process.stdout.write = write;
  }
}

t.test('the commands: iroha-context (also --request), iroha-answer (also stdin), run --iroha-context', async (t) => {
  const tmp = new TmpDir();
  t.teardown(() => tmp.remove());
  const file = tmp.file('ctx.json', JSON.stringify({ kind: 'trigger', id: 'mint_rose', authority: ALICE, curr_block: BLOCK2, event: { ExecuteTrigger: { args: { val: 3 } } } }));
  const expected = I.triggerContext({ id: 'mint_rose', authority: alice, block: block2, event: I.executeTriggerEvent({ triggerId: 'mint_rose', authority: alice, args: '{"val":3}' }) });
  const b64 = Buffer.from(expected).toString('base64');
  t.same(capture(() => irohaContextCommand([file])), { code: 0, json: { kind: 'trigger', entrypoint: '_iroha_trigger_main', hex: hex(expected), base64: b64, iroha: { context: b64 } } });
  const wasm = join(I.IROHA_FIXTURES, 'mint_rose_trigger.wasm');
  t.same(capture(() => irohaContextCommand([file, '--request', wasm])), {
    code: 0,
    json: { contract: { hash: '46260a96b1ca160e82b2cda0f0b8d7de7fab38b7c38f3466792b58837853ab3e' }, entrypoint: '_iroha_trigger_main', iroha: { context: b64 } },
  });
  t.same(capture(() => irohaAnswerCommand([tmp.file('a.json', '[{"Ok": null}, {"Err": {"NotPermitted": "no"}}]')])), { code: 0, json: { hex: ['00', '0100086e6f'], base64: ['AA==', 'AQAIbm8='] } });
  const err = (r: ReturnType<typeof capture>) => ('error' in r ? r.error : new Error('no error'));
  t.match(err(capture(() => irohaContextCommand([tmp.file('broken.json', '{"kind": ')]))), { kind: 'bad_request', message: /broken\.json is not JSON: / });
  t.match(err(capture(() => irohaAnswerCommand([tmp.file('wrong.json', '{"Ok": {"Iterable": {"batch": {"Assets": []}}}}')]))), {
    message: /wrong\.json: \$\.Ok\.Iterable\.batch: unknown batch kind \(QueryOutputBatchBox\) `Assets`; expected one of Domain, Account, Asset,/,
  });
  t.match(err(capture(() => irohaContextCommand([file, 'other.json']))), { message: /`iroha-context` takes only one FILE\.json/ });

  // run --iroha-context: the job gets the context's bytes and its entrypoint (test/cli/iroha-examples.test.ts runs one)
  const args = parseRunArgs([wasm, '--iroha-context', file]);
  const job = args === HELP ? null : makeJob(args);
  t.same({ entrypoint: job?.entrypoint, context: job?.iroha?.context }, { entrypoint: '_iroha_trigger_main', context: expected });
  t.throws(() => parseRunArgs([wasm, '--iroha-context', file, '--iroha-context-hex', '00']), /either with --iroha-context \(JSON\) or with --iroha-context-hex, not both/);
  const answered = tmp.file('answered.json', JSON.stringify({ kind: 'smart-contract', authority: ALICE, queryResponses: [{ Ok: { Singular: { Json: 1 } } }] }));
  const both = parseRunArgs([wasm, '--iroha-context', answered, '--iroha-responses', tmp.file('r.json', '[]')]);
  t.throws(() => both !== HELP && makeJob(both), /the query answers are given twice/);

  // the command line itself, once: main's dispatch, standard input, exit codes
  ensureBuilt();
  const stdin = spawnSync(...plainNode([MAIN, 'iroha-answer', '-']), { input: '{"Ok": {"Singular": {"Json": 5}}}', encoding: 'utf8' });
  t.same({ code: stdin.status, json: JSON.parse(stdin.stdout) }, { code: 0, json: { hex: '0000020435', base64: 'AAACBDU=' } }, '- reads standard input');
});
