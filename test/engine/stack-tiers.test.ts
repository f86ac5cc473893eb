/**
 * The stack budget is deterministic across V8's tiers (docs/ABI.md, Stack): the same executions run
 * in child processes pinned to Liftoff (--liftoff-only) and to TurboFan (--no-liftoff), each in a
 * worker whose stack is derived from the budget as the pool's are, and must give the same outcome,
 * message, fuel, frames and fuel profile (the profiling variant's hooks call into JavaScript at every
 * depth), never V8's own limit. Stack-heavy shapes: many locals, a deep operand stack,
 * v128 locals, mutual recursion through call_indirect, repeated expressions (TurboFan keeps them
 * alive), a small callee V8 may inline, tail calls, recursion across the bridge and in shared mode.
 * Per shape it also measures V8's real stack per recursion level against the charge per level: the
 * charge must be the larger in every tier (recorded in docs/ABI.md, Stack). Needs `npm run build`.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { wat } from '../support/wat.js';
import { plainNode } from '../support/plain-node.js';
import { ENGINE_STACK_MESSAGE, stackBudgetMessage } from '../../src/engine/outcome.js';

const BUDGET = 1024 * 1024;
const CHILD = fileURLToPath(new URL('./stack-tiers-child.mjs', import.meta.url));
const TIERS: Array<[string, string[]]> = [
  ['liftoff', ['--liftoff-only']],
  ['turbofan', ['--no-liftoff']],
];

const head = `(memory (export "memory") 1)
  (global $d (mut i32) (i32.const 0)) (global $max (export "max") (mut i32) (i32.const 0))`;
const enter = `(global.set $d (i32.add (global.get $d) (i32.const 1)))
  (if (i32.gt_u (global.get $d) (global.get $max)) (then (global.set $max (global.get $d))))`;
const leave = `(global.set $d (i32.sub (global.get $d) (i32.const 1)))`;
const load = (i: number, ty = 'i64') => `(${ty}.load offset=${i * 8} (i32.and (local.get 0) (i32.const 1023)))`;

/** rec(n): k i64 (or v128) locals loaded from memory, all live across the recursive call. */
function locals(k: number, ty: 'i64' | 'v128' = 'i64'): string {
  const decl = Array.from({ length: k }, (_, i) => `(local $l${i} ${ty})`).join(' ');
  const init = Array.from({ length: k }, (_, i) => `(local.set $l${i} ${load(i, ty)})`).join('\n');
  let sum = '';
  for (let i = 0; i < k; i++) sum += ty === 'v128' ? `local.get $l${i} i64x2.extract_lane 0 i64.add\n` : `local.get $l${i} i64.add\n`;
  return `(module ${head}
  (func $rec (export "run") (param i32) (result i64) ${decl} (local $r i64)
    ${enter} ${init}
    (if (i32.eqz (local.get 0)) (then ${leave} (return (i64.const 0))))
    (local.set $r (call $rec (i32.sub (local.get 0) (i32.const 1))))
    (i64.store (i32.const 0) (i64.const 7)) ${leave}
    local.get $r
    ${sum}))`;
}

/** rec(n): s values on the operand stack across the recursive call. */
function operands(s: number): string {
  const push = Array.from({ length: s }, (_, i) => load(i)).join(' ');
  return `(module ${head}
  (func $rec (export "run") (param i32) (result i64)
    ${enter}
    (if (i32.eqz (local.get 0)) (then ${leave} (return (i64.const 0))))
    ${push}
    (call $rec (i32.sub (local.get 0) (i32.const 1)))
    ${'i64.add '.repeat(s)}
    ${leave}))`;
}

/** $a and $b call each other through a table, each with 16 live locals. */
function indirect(): string {
  const fn = (name: string, other: number) => {
    const decl = Array.from({ length: 16 }, (_, i) => `(local $l${i} i64)`).join(' ');
    const init = Array.from({ length: 16 }, (_, i) => `(local.set $l${i} ${load(i)})`).join(' ');
    const sum = Array.from({ length: 16 }, (_, i) => `local.get $l${i} i64.add`).join(' ');
    return `(func ${name} (type $t) (param i32) (result i64) ${decl} (local $r i64)
      ${enter} ${init}
      (if (i32.eqz (local.get 0)) (then ${leave} (return (i64.const 0))))
      (local.set $r (call_indirect (type $t) (i32.sub (local.get 0) (i32.const 1)) (i32.const ${other})))
      (i64.store (i32.const 0) (i64.const 7)) ${leave}
      local.get $r ${sum})`;
  };
  return `(module ${head} (type $t (func (param i32) (result i64)))
    (table 2 funcref) (elem (i32.const 0) $a $b)
    ${fn('$a', 1)} ${fn('$b', 0)}
    (func (export "run") (param i32) (result i64) (call $a (local.get 0))))`;
}

/** rec(n): m pure expressions computed before the call and again after it (value numbering keeps them). */
function repeated(m: number): string {
  let pre = '';
  let post = '';
  for (let k = 1; k <= m; k++) {
    pre += `(i64.store offset=${k * 8} (i32.const 0) (i64.mul (local.get $a) (i64.const ${k * 7919 + 1})))\n`;
    post += `(i64.store offset=${k * 8} (i32.const 8000) (i64.mul (local.get $a) (i64.const ${k * 7919 + 1})))\n`;
  }
  return `(module (memory (export "memory") 1)
  (global $d (mut i32) (i32.const 0)) (global $max (export "max") (mut i32) (i32.const 0))
  (func $rec (export "run") (param i32) (result i64) (local $a i64)
    ${enter}
    (local.set $a (i64.load (i32.and (local.get 0) (i32.const 1023))))
    (if (i32.eqz (local.get 0)) (then ${leave} (return (i64.const 0))))
    ${pre}
    (drop (call $rec (i32.sub (local.get 0) (i32.const 1))))
    ${post} ${leave}
    (local.get $a)))`;
}

/** rec(n) calls a small helper (under V8's inlining size) with 40 live values, then recurses. */
function inlined(): string {
  const decl = Array.from({ length: 40 }, (_, i) => `(local $l${i} i64)`).join(' ');
  const init = Array.from({ length: 40 }, (_, i) => `(local.set $l${i} (i64.load offset=${i * 8} (local.get 0)))`).join(' ');
  const sum = Array.from({ length: 40 }, (_, i) => `local.get $l${i} i64.add`).join(' ');
  return `(module ${head}
  (func $h (param i32) (result i64) ${decl} ${init} (i64.store (i32.const 0) (i64.const 1)) i64.const 0 ${sum})
  (func $rec (export "run") (param i32) (result i64) (local $s i64)
    ${enter}
    (if (i32.eqz (local.get 0)) (then ${leave} (return (i64.const 0))))
    (local.set $s (call $h (i32.and (local.get 0) (i32.const 255))))
    (local.set $s (i64.add (local.get $s) (call $rec (i32.sub (local.get 0) (i32.const 1)))))
    ${leave}
    (local.get $s)))`;
}

/** Tail recursion: each level makes one ordinary call of a heavy leaf, then tail-calls the next. */
const TAIL = `(module (memory 1)
  (func $leaf (param i64) (result i64) (local i64 i64 i64 i64 i64 i64 i64 i64) (local.get 0))
  (func $t (param i32 i64) (result i64)
    (if (i32.eqz (local.get 0)) (then (return (local.get 1))))
    (return_call $t (i32.sub (local.get 0) (i32.const 1)) (i64.add (local.get 1) (call $leaf (i64.extend_i32_u (local.get 0))))))
  (func (export "run") (param i32) (result i64) (return_call $t (local.get 0) (i64.const 0))))`;

/** Bridge mode: contract recursion of depth n, then library recursion of depth k, on one budget. */
const LIBRARY = `(module
  (func $deep (export "deep") (param i32) (result i32) (local i64 i64 i64 i64)
    (if (result i32) (i32.eqz (local.get 0)) (then (i32.const 0))
      (else (i32.add (call $deep (i32.sub (local.get 0) (i32.const 1))) (i32.const 1))))))`;
const CONTRACT = `(module (import "lib" "deep" (func $deep (param i32) (result i32)))
  (func $rec (export "run") (param i32 i32) (result i32) (local i64 i64 i64 i64 i64 i64 i64 i64)
    (if (result i32) (i32.eqz (local.get 0)) (then (call $deep (local.get 1)))
      (else (i32.add (call $rec (i32.sub (local.get 0) (i32.const 1)) (local.get 1)) (i32.const 1))))))`;
/** Shared mode: the same pair on one memory (the library defines it, the contract imports it). */
const SHARED_LIBRARY = LIBRARY.replace('(module', '(module (memory (export "memory") 1)');
const SHARED_CONTRACT = CONTRACT.replace('(module', '(module (import "env" "memory" (memory 1))');

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

t.test('the stack budget gives the same outcome and fuel in Liftoff and TurboFan', async (t) => {
  const shapes: Array<[string, string]> = [
    ['64 i64 locals', locals(64)],
    ['64 operands', operands(64)],
    ['16 v128 locals', locals(16, 'v128')],
    ['call_indirect mutual recursion', indirect()],
    ['128 repeated expressions', repeated(128)],
    ['an inlinable callee', inlined()],
  ];
  const compiled = await Promise.all(shapes.map(async ([name, src]) => ({ name, bytes: b64(await wat(src)) })));
  const cases = [
    // deep enough to run out, shallow enough to fit
    ...compiled.map((c) => ({ name: c.name, contract: c.bytes, entry: 'run', args: [[50], [1_000_000]] })),
    { name: 'tail calls', contract: b64(await wat(TAIL)), entry: 'run', args: [[200_000]] },
    { name: 'bridge', contract: b64(await wat(CONTRACT)), library: b64(await wat(LIBRARY)), entry: 'run', args: [[100, 100], [500, 1_000_000], [1_000_000, 0]] },
    {
      name: 'shared',
      contract: b64(await wat(SHARED_CONTRACT)),
      library: b64(await wat(SHARED_LIBRARY)),
      link: { mode: 'shared' },
      entry: 'run',
      args: [[100, 100], [500, 1_000_000], [1_000_000, 0]],
    },
  ];
  const file = join(mkdtempSync(join(tmpdir(), 'stack-tiers-')), 'cases.json');
  writeFileSync(file, JSON.stringify({ budget: BUDGET, cases, measure: compiled }));

  type Result = { name: string; args: number[]; ok: boolean; kind: string | null; message: string | null; fuel: number; frames: unknown[] | null; framesOmitted: number | null; profile?: { total: number; sha256: string } };
  type Margin = { name: string; realPerLevel: number; chargedPerLevel: number; engineLimit: boolean; budgetLimit: boolean };
  const runs = new Map<string, { results: Result[]; margins: Margin[] }>();
  for (const [tier, flags] of TIERS) {
    const out = execFileSync(...plainNode([...flags, CHILD, file]), { encoding: 'utf8', maxBuffer: 16 << 20 });
    runs.set(tier, JSON.parse(out));
  }
  const [liftoff, turbofan] = [runs.get('liftoff')!, runs.get('turbofan')!];
  t.same(turbofan.results, liftoff.results, 'every outcome, message, fuel and frame (with the count of those omitted) is the same in both tiers');
  const stopped = liftoff.results.filter((r) => !r.ok);
  t.ok(stopped.length > 0 && stopped.every((r) => (r.frames?.length ?? 0) > 0), `every stopped run (${stopped.length}) has its frames`);
  for (const r of liftoff.results) {
    t.not(r.message, ENGINE_STACK_MESSAGE, `${r.name} ${JSON.stringify(r.args)}: never V8's own limit`);
    if (!r.ok) t.same([r.kind, r.message], ['stack_overflow', stackBudgetMessage(BUDGET)], `${r.name} ${JSON.stringify(r.args)}: the budget`);
  }
  const outcome = (name: string, args: number[]) => liftoff.results.find((r) => r.name === name && JSON.stringify(r.args) === JSON.stringify(args))!;
  const profiled = liftoff.results.filter((r) => r.name.endsWith(' (profiled)'));
  t.ok(profiled.length > 0, 'profiled runs in both tiers (their profiles compared above by sha256)');
  for (const r of profiled) {
    const plain = outcome(r.name.replace(' (profiled)', ''), r.args);
    const { name: _n, profile, ...rest } = r;
    const { name: _m, ...want } = plain;
    t.same(rest, want, `${r.name} ${JSON.stringify(r.args)}: the ordinary run's outcome, fuel and frames`);
    t.equal(profile!.total, r.fuel, `${r.name} ${JSON.stringify(r.args)}: the profile sums to the fuel`);
  }
  for (const c of compiled) {
    t.ok(outcome(c.name, [50]).ok, `${c.name}: 50 levels fit`);
    t.notOk(outcome(c.name, [1_000_000]).ok, `${c.name}: a million do not`);
  }
  t.ok(outcome('tail calls', [200_000]).ok, 'tail calls do not grow the stack: 200,000 of them fit');
  for (const mode of ['bridge', 'shared']) {
    t.ok(outcome(mode, [100, 100]).ok, `${mode}: recursion in both modules fits`);
    t.equal(outcome(mode, [500, 1_000_000]).kind, 'stack_overflow', `${mode}: the library recursion exhausts the budget left by the contract`);
    t.equal(outcome(mode, [1_000_000, 0]).kind, 'stack_overflow', `${mode}: the contract recursion exhausts it`);
  }
  for (const [tier] of TIERS) {
    for (const m of runs.get(tier)!.margins) {
      const ratio = m.realPerLevel / m.chargedPerLevel;
      t.ok(m.engineLimit && m.budgetLimit, `${tier}, ${m.name}: measured against V8's limit and the budget`);
      t.ok(ratio < 1, `${tier}, ${m.name}: real ${m.realPerLevel.toFixed(0)} bytes per level, charged ${m.chargedPerLevel.toFixed(0)} (ratio ${ratio.toFixed(2)})`);
    }
  }
});
