/** src/engine/iroha-scale.ts: the SCALE values the Iroha profile's host reads and writes. */
import t from 'tap';
import {
  OK_UNIT, decodeDbg, decodeLog, decodeVerdict, lengthPrefixed, noQuerySource, notPermitted, readLengthPrefixed,
} from '../../src/engine/profiles/iroha/scale.js';
import { FIXTURE, fromHex, toHex, verdictBytes } from '../support/iroha.js';

const h = fromHex;

t.test('log: (u8, String)', async (t) => {
  t.same(decodeLog(h('02' + '14' + Buffer.from('hello').toString('hex'))), { level: 2, message: 'hello' });
  t.same(decodeLog(h('0400')), { level: 4, message: '' });
  const long = 'x'.repeat(100); // two-byte compact length
  t.same(decodeLog(h('00' + '9101' + Buffer.from(long).toString('hex'))), { level: 0, message: long });
  t.same(decodeLog(h('01' + '14' + 'c3a9e282ac')), { level: 1, message: 'é€' }); // 5 bytes of UTF-8
  t.throws(() => decodeLog(h('05' + '00')), /5: not a valid log level/);
  t.throws(() => decodeLog(h('02' + '0c' + '6869')), /needs 3 bytes/);
  t.throws(() => decodeLog(h('02' + '08' + '6869' + '00')), /1 trailing byte/);
  t.throws(() => decodeLog(h('')), /log level needs 1 bytes/);
  t.throws(() => decodeLog(h('02' + '04' + 'ff')), /not valid UTF-8/);
  t.throws(() => decodeLog(h('02' + '0100')), /non-canonical/); // 0 in two-byte mode
});

t.test('dbg: String, also from a Buffer view into a larger buffer', async (t) => {
  t.equal(decodeDbg(h('0c616263')), 'abc');
  const big = Buffer.from('ffff0c616263ffff', 'hex');
  t.equal(decodeDbg(big.subarray(2, 6)), 'abc');
  t.throws(() => decodeDbg(h('0c6162')), Error);
});

t.test('verdicts: Result<(), ValidationFail>', async (t) => {
  t.same(decodeVerdict(OK_UNIT), { ok: true });
  t.same(decodeVerdict(verdictBytes.ok()), { ok: true });
  t.same(decodeVerdict(verdictBytes.notPermitted('nope')), { ok: false, reason: 'NotPermitted', message: 'nope' });
  t.same(decodeVerdict(h('0101' + '06' + '00')), { ok: false, reason: 'InstructionFailed', message: 'Math(Overflow)' });
  t.same(decodeVerdict(h('0101' + '06' + '06' + '0c616263')), { ok: false, reason: 'InstructionFailed', message: 'Math(FixedPointConversion(abc))' });
  t.same(decodeVerdict(h('0101' + '08' + '0c616263')), { ok: false, reason: 'InstructionFailed', message: 'InvariantViolation(abc)' });
  t.same(decodeVerdict(h('0101' + '00' + '00' + '02')), { ok: false, reason: 'InstructionFailed', message: 'Evaluate(Unsupported(Mint))' });
  t.same(decodeVerdict(h('0101' + '00' + '02' + '0000')), { ok: false, reason: 'InstructionFailed', message: 'Evaluate(Type)' }); // not decoded further
  t.same(decodeVerdict(h('0101' + '05' + '01')), { ok: false, reason: 'InstructionFailed', message: 'Mintability(ForbidMintOnMintable)' });
  t.same(decodeVerdict(h('0101' + '04' + '09' + '05' + '0c616263')), { ok: false, reason: 'InstructionFailed', message: 'Repetition(ExecuteTrigger, TriggerId(abc))' });
  const alice = toHex(FIXTURE.alice);
  t.same(decodeVerdict(h('0102' + '00' + '02' + alice)), {
    ok: false, reason: 'QueryFailed', message: `Find(Account(ed0120${'A1'.repeat(32)}@wonderland))`,
  });
  t.same(decodeVerdict(h('0101' + '01' + '03')), { ok: false, reason: 'InstructionFailed', message: 'Query(CursorMismatch)' });
  t.same(decodeVerdict(h('0103')), { ok: false, reason: 'TooComplex' });
  t.same(decodeVerdict(h('0104')), { ok: false, reason: 'InternalError' });
  t.throws(() => decodeVerdict(h('02')), /unknown Result tag 2/);
  t.throws(() => decodeVerdict(h('0105')), /unknown ValidationFail tag 5/);
  t.throws(() => decodeVerdict(h('0101' + '09')), /unknown InstructionExecutionError tag 9/);
  t.throws(() => decodeVerdict(h('0000')), /trailing/);
  t.throws(() => decodeVerdict(h('0103' + '00')), /trailing/);
  t.throws(() => decodeVerdict(h('0100' + '08' + '61')), /needs 2 bytes/);
  t.throws(() => decodeVerdict(h('')), /Result needs 1 bytes/);
});

t.test('what the host writes', async (t) => {
  t.equal(toHex(OK_UNIT), '00');
  t.equal(toHex(lengthPrefixed(OK_UNIT)), '0500000000');
  t.equal(toHex(noQuerySource()), '01003c' + Buffer.from('no query source').toString('hex'));
  t.equal(toHex(notPermitted('x')), '010004' + '78');
  t.equal(toHex(lengthPrefixed(new Uint8Array(0))), '04000000');
});

t.test('readLengthPrefixed', async (t) => {
  const mem = new Uint8Array(16);
  mem.set(lengthPrefixed(h('aabb')), 3);
  const r = readLengthPrefixed(mem, 3);
  t.equal(r.total, 6);
  t.equal(toHex(r.payload), 'aabb');
  mem[3] = 0x20; // total 32 > memory
  t.throws(() => readLengthPrefixed(mem, 3), /out of bounds/);
  mem[3] = 3;
  t.throws(() => readLengthPrefixed(mem, 3), /less than its own 4 bytes/);
  t.throws(() => readLengthPrefixed(mem, 13), /out of bounds/);
  t.throws(() => readLengthPrefixed(mem, -1), /out of bounds/);
  const buf = Buffer.alloc(8192); // a pooled-size Buffer view
  buf.set(lengthPrefixed(h('01')), 100);
  t.same(readLengthPrefixed(buf.subarray(50), 50), { total: 5, payload: h('01') });
});
