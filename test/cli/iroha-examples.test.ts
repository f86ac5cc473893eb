/**
 * The bundled Iroha modules (examples/iroha) with their inputs (examples/iroha/inputs/*.json, built by
 * the CLI's encoders as `iroha-context` builds them): the app stores the modules at start, so each
 * request names its module by hash, and each run gives what docs/IROHA.md shows — its queries,
 * instructions, data model, verdict and fuel. The README's hashes are the files'. (`run --iroha-context`
 * builds its job as these do: test/cli/iroha-encode.test.ts; docs/IROHA.md runs it, in the doc test.)
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { buildContext } from '../../src/cli/iroha/context.js';
import { root } from '../../src/cli/iroha/json-read.js';
import { execute, hexOf, sha256, startApp } from '../support/http.js';
import * as I from '../support/iroha.js';

const DIR = I.IROHA_FIXTURES;
const ALICE = 'ed0120CE7FA46C9DCE7EA4B125E2E36BDB63EA33073E7590AC92816AE1E861B7048B03@wonderland';
const alice = I.accountId('wonderland', I.fromHex(ALICE.slice(6, 70)));
const rose = I.assetId(I.assetDefinitionId('rose', 'wonderland'), alice);
const hashOf = (module: string) => sha256(readFileSync(join(DIR, `${module}.wasm`)));

const { app } = await startApp(t);

/** The run of `input` (a file of inputs/, or its JSON) on `module` through the app, by hash. */
async function run(module: string, input: string | object) {
  const json = typeof input === 'string' ? JSON.parse(readFileSync(join(DIR, 'inputs', `${input}.json`), 'utf8')) : input;
  const c = buildContext(root(json, String(input)));
  const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64');
  const r = await execute(app, {
    contract: { hash: hashOf(module) },
    entrypoint: c.entrypoint,
    iroha: { context: b64(c.context), ...(c.queryResponses ? { queryResponses: c.queryResponses.map(b64) } : {}) },
  });
  const b = r.body;
  return {
    status: r.status,
    ok: b.ok,
    error: b.error,
    fuel: b.fuel?.consumed,
    queries: b.iroha?.queries.map(hexOf),
    instructions: b.iroha?.instructions.map(hexOf),
    dataModel: b.iroha?.dataModel ? { bytes: hexOf(b.iroha.dataModel).length / 2, sha256: sha256(Buffer.from(b.iroha.dataModel, 'base64')) } : null,
    verdict: b.iroha?.verdict ?? null,
  };
}

const MIGRATE_QUERIES = ['010102000000000000000000000000', '010402000000000000000000000000'];
const DEFAULT_DATA_MODEL = { bytes: 3441, sha256: 'd7fcd3386968b54573366eb3cd417841494cc2e316c771ba2ac78e197290a953' };
const REFUSED = {
  ok: false,
  reason: 'NotPermitted',
  message: "Can't set value to the metadata of another account",
  scale: 'AQDIQ2FuJ3Qgc2V0IHZhbHVlIHRvIHRoZSBtZXRhZGF0YSBvZiBhbm90aGVyIGFjY291bnQ=',
};
const NO_CALLS = { queries: [], instructions: [], dataModel: null, verdict: null };

t.test('each input on its module, by hash: what docs/IROHA.md shows', async (t) => {
  const cases: [string, string, object][] = [
    ['mint_rose_trigger', 'mint_rose', { ...NO_CALLS, fuel: 26109, instructions: [I.toHex(I.mintAssetNumeric(3, rose))] }],
    ['mint_rose_trigger', 'mint_rose_from_metadata', {
      ...NO_CALLS, fuel: 41672, queries: ['0007246d696e745f726f73650c56414c'], instructions: [I.toHex(I.mintAssetNumeric(5, rose))],
    }],
    ['query_assets_and_save_cursor', 'query_assets', {
      ...NO_CALLS, fuel: 33570, queries: ['0102020000000000000000000000010100000000000000'],
      instructions: [I.toHex(I.setAccountKeyValue(alice, 'cursor', '{"query":"q1","cursor":1}'))],
    }],
    ['default_executor', 'default_executor_migrate', { ...NO_CALLS, fuel: 772700, queries: MIGRATE_QUERIES, dataModel: DEFAULT_DATA_MODEL }],
    // Register(Domain(NewDomain { id: "garden", logo: None, metadata: {} })), executed: the admin may
    ['executor_with_admin', 'admin_registers_domain', { ...NO_CALLS, fuel: 28164, instructions: ['00011867617264656e0000'], verdict: { ok: true } }],
    ['executor_with_admin', 'alice_sets_bobs_metadata', { ...NO_CALLS, fuel: 81062, verdict: REFUSED }],
    ['default_executor', 'alice_sets_bobs_metadata', { ...NO_CALLS, fuel: 73056, verdict: REFUSED }],
  ];
  const inputs = readdirSync(join(DIR, 'inputs')).map((f) => f.replace(/\.json$/, ''));
  t.same([...new Set(cases.map((c) => c[1]))].sort(), inputs.sort(), 'every input file is run');
  for (const [module, input, expected] of cases) {
    const r = await run(module, input);
    t.match(r, { status: 200, ok: true, error: null }, `${input} on ${module}: ok`);
    const { status: _s, ok: _o, error: _e, queries, ...rest } = r;
    t.same({ ...rest, queries: input === 'alice_sets_bobs_metadata' ? [] : queries }, expected, `${input} on ${module}: the calls, verdict and fuel`);
    if (input === 'alice_sets_bobs_metadata') t.equal(queries?.length, 4, 'four queries, answered by the file');
  }
});

t.test('an account in the migration’s answers: the executor asks for its permissions', async (t) => {
  const r = await run('default_executor', {
    kind: 'executor',
    authority: ALICE,
    queryResponses: [
      { Ok: { Iterable: { batch: { Account: [{ id: ALICE, metadata: { nick: 'alice' } }] } } } },
      { Ok: { Iterable: { batch: { Role: [] } } } },
      { Ok: { Iterable: { batch: { Permission: [] } } } },
    ],
  });
  t.equal(r.ok, true, r.error?.message);
  t.same(r.queries?.slice(0, 2), MIGRATE_QUERIES);
  t.match(r.queries?.[2], new RegExp(`^0106${I.toHex(alice)}`), 'FindPermissionsByAccountId(alice): the Account item decoded');
  t.same(r.dataModel, DEFAULT_DATA_MODEL);
});

t.test('the README names each module with its sha256', async (t) => {
  const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
  const wasm = readdirSync(DIR).filter((f) => f.endsWith('.wasm'));
  t.equal(wasm.length, 4);
  for (const f of wasm) t.match(readme, new RegExp(`\\| \`${f}\` \\(${readFileSync(join(DIR, f)).length.toLocaleString('en-US')} B\\) \\|[^\\n]*\`${hashOf(f.replace('.wasm', ''))}\` \\|`), f);
});
