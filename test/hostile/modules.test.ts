/**
 * Hostile modules against POST /execute (Fastify inject, one worker): fuel, memory, table, stack,
 * start-function bombs, output and log floods, bad UTF-8, host pointers out of bounds, compile bombs
 * within and over the policy, malformed and truncated binaries. Each case asserts its exact outcome,
 * that the answer stayed within its limits, and that a normal execution right after is exact.
 */
import t from 'tap';
import { stackBudgetMessage } from '../../src/engine/outcome.js';
import {
  assertHealthy,
  assertProcessHealthy,
  b64,
  type Case,
  check,
  concat,
  errorChecks,
  example,
  HEADER,
  manyFunctions,
  moduleOf,
  name,
  PAGE,
  randomBytes,
  recordHealth,
  repeat,
  req,
  runCases,
  section,
  sectionBytes,
  sectionEnds,
  uleb,
  wat,
} from './support.js';
import { startTarget, type Checks } from './support.js';

/** `c` with each check's message prefixed (which cut failed). */
const prefixed = (c: Checks, p: string): Checks => ({
  equal: (f, w, m?: string) => c.equal(f, w, p + m),
  same: (f, w, m?: string) => c.same(f, w, p + m),
  match: (f, w, m?: string) => c.match(f, w, p + m),
  ok: (v, m?: string) => c.ok(v, p + m),
});

const { app, config } = await startTarget(t);
/** A C++ name whose back-references double the demangled text at each level: 30 levels, 1.28 MB. */
function expandingName(levels: number): string {
  const sub = (k: number) => 'S' + (k === 0 ? '' : (k - 1).toString(36).toUpperCase()) + '_';
  let s = '_Z1f1AN1BIS_S_EE';
  for (let k = 1; k <= levels; k++) s += `NS0_I${sub(k)}${sub(k)}EE`;
  return s;
}
const BOMB = expandingName(30);
const LONG_NAME = `_ZN${'x'.repeat(100_000)}E`;
const crafted = (fn: string) =>
  wat(`(module (func $${fn} (param i32) (result i32) local.get 0 i32.const 1 i32.add call $${fn})
    (func (export "main") (result i32) i32.const 0 call $${fn}))`, { names: true });
// compiled before the first assertion: tap's root ends when it sits idle after one
const BOMB_WASM = await crafted(BOMB);
const LONG_NAME_WASM = await crafted(LONG_NAME);

const h = await recordHealth(t, app, config);
const MAX_OUT = config.engine.output.maxOutputBytes;

const HOST = `
  (import "host" "output" (func $output (param i32 i32)))
  (import "host" "log" (func $log (param i32 i32 i32)))
  (import "host" "panic" (func $panic (param i32 i32)))
  (import "host" "input_len" (func $input_len (result i32)))
  (import "host" "input_read" (func $input_read (param i32)))`;

const FUEL_MSG = (n: number) => `all fuel consumed: the limit is ${n}`;
const DEPTH_MSG = stackBudgetMessage(config.engine.maxStackBytes);
const GROW_MSG = (bytes: number) => `memory limit of ${bytes} bytes reached (memory.grow refused), then: wasm \`unreachable\` instruction executed`;

/** n nested counted loops of `iters` each around one `nop`. */
function loopNest(n: number, iters: number): string {
  let body = 'nop';
  for (let i = n - 1; i >= 0; i--) {
    body = `(local.set ${i} (i32.const 0))
      (block $b${i} (loop $l${i}
        (br_if $b${i} (i32.ge_u (local.get ${i}) (i32.const ${iters})))
        ${body}
        (local.set ${i} (i32.add (local.get ${i}) (i32.const 1)))
        (br $l${i})))`;
  }
  return `(module (func (export "main") (local ${'i32 '.repeat(n)}) ${body}))`;
}

const fuelBombs: Case[] = [
  {
    name: 'fuel: infinite loop',
    wasm: '(module (func (export "main") (loop $l (br $l))))',
    request: { limits: { fuel: 1_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1_000_000) },
  },
  {
    name: 'fuel: infinite loop under the default fuel (55,000,000)',
    wasm: '(module (func (export "main") (result i32) (loop $l (br $l)) (i32.const 0)))',
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(config.limits.defaults.fuel) },
  },
  {
    name: 'fuel: 8 nested loops of 1000 iterations (10^24 iterations)',
    wasm: loopNest(8, 1000),
    request: { limits: { fuel: 5_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(5_000_000) },
  },
  {
    name: 'fuel: infinite tail recursion (return_call does not count depth)',
    wasm: '(module (func $f (export "main") (return_call $f)))',
    request: { limits: { fuel: 2_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(2_000_000) },
  },
  {
    name: 'fuel: br_table spin',
    wasm: '(module (func (export "main") (loop $l (br_table $l $l (i32.const 0)))))',
    request: { limits: { fuel: 1_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1_000_000) },
  },
  {
    name: 'fuel: limit 0 stops at the first block',
    wasm: '(module (func (export "main") (loop $l (br $l))))',
    request: { limits: { fuel: 0 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(0), fuel: 0 },
  },
  {
    name: 'fuel: memory.fill of 1 MiB with 1000 fuel is refused before it runs',
    wasm: '(module (memory 16) (func (export "main") (memory.fill (i32.const 0) (i32.const 7) (i32.const 1048576))))',
    request: { limits: { fuel: 1000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1000) },
  },
];

const memoryBombs: Case[] = [
  {
    name: 'memory: initial memory over the limit',
    wasm: '(module (memory 100) (func (export "main")))',
    request: { limits: { memoryBytes: 10 * PAGE } },
    expect: { kind: 'memory_limit', message: `initial memory of ${100 * PAGE} bytes (contract 100 pages) exceeds the limit of ${10 * PAGE} bytes`, fuel: 0 },
  },
  {
    name: 'memory: initial memory of 65536 pages (4 GiB) is refused, never allocated',
    wasm: '(module (memory 65536) (func (export "main")))',
    expect: { kind: 'memory_limit', message: /^initial memory of 4294967296 bytes/ },
  },
  {
    name: 'memory: initial memory above the ceiling (5000 pages) under the highest limit',
    wasm: '(module (memory 5000) (func (export "main")))',
    request: { limits: { memoryBytes: config.limits.max.memoryBytes } },
    expect: { kind: 'memory_limit', message: /^initial memory of 327680000 bytes/ },
  },
  {
    name: 'memory: memory.grow loop that ignores -1 runs out of fuel within the cap',
    wasm: '(module (memory 1) (func (export "main") (loop $l (drop (memory.grow (i32.const 1))) (br $l))))',
    request: { limits: { fuel: 200_000, memoryBytes: 8 * PAGE } },
    expect: { kind: 'out_of_fuel', check: (t, b) => t.equal(b.memory.peakBytes, 8 * PAGE, 'grew exactly to the cap') },
  },
  {
    name: 'memory: memory.grow loop that traps on -1 is memory_limit',
    wasm: `(module (memory 1) (func (export "main")
      (loop $l (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable)) (br $l))))`,
    request: { limits: { memoryBytes: 20 * PAGE } },
    expect: { kind: 'memory_limit', message: GROW_MSG(20 * PAGE), check: (t, b) => t.equal(b.memory.peakBytes, 20 * PAGE) },
  },
  {
    name: 'memory: memory.grow by 0xFFFFFFFF pages returns -1',
    wasm: '(module (memory 1) (func (export "main") (result i32 i32) (memory.grow (i32.const -1)) (memory.size)))',
    expect: { kind: 'ok', values: [-1, 1] },
  },
  {
    name: 'memory: memory.grow by 65535 pages returns -1',
    wasm: '(module (memory 1) (func (export "main") (result i32) (memory.grow (i32.const 65535))))',
    request: { limits: { memoryBytes: config.limits.max.memoryBytes } },
    expect: { kind: 'ok', values: [-1] },
  },
  {
    name: 'memory: a declared maximum above the ceiling does not lift the cap',
    wasm: '(module (memory 1 65536) (func (export "main") (result i32) (memory.grow (i32.const 5000))))',
    request: { limits: { memoryBytes: config.limits.max.memoryBytes } },
    expect: { kind: 'ok', values: [-1] },
  },
];

const tableBombs: Case[] = [
  {
    name: 'table: table.grow loop stops at policy.maxTableElements',
    wasm: `(module (table $t 0 funcref) (func (export "main") (result i32)
      (block $done (loop $l (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 10000)) (i32.const -1))) (br $l)))
      (table.size $t)))`,
    expect: { kind: 'ok', values: [config.policy.maxTableElements] },
  },
  {
    name: 'table: table.grow by 0xFFFFFFFF returns -1',
    wasm: '(module (table $t 1 funcref) (func (export "main") (result i32) (table.grow $t (ref.null func) (i32.const -1))))',
    expect: { kind: 'ok', values: [-1] },
  },
  {
    name: 'table: table.grow loop ignoring -1 runs out of fuel',
    wasm: '(module (table $t 0 externref) (func (export "main") (loop $l (drop (table.grow $t (ref.null extern) (i32.const 50000))) (br $l))))',
    request: { limits: { fuel: 1_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1_000_000) },
  },
  {
    name: 'table: a huge initial table (10,000,000) is a policy violation',
    wasm: '(module (table 10000000 funcref) (func (export "main")))',
    expect: { status: 422, kind: 'policy_violation', message: `a table starts with 10000000 elements, more than the limit of ${config.policy.maxTableElements}` },
  },
  {
    name: 'table: one element over the limit is a policy violation',
    wasm: `(module (table ${config.policy.maxTableElements + 1} funcref) (func (export "main")))`,
    expect: { status: 422, kind: 'policy_violation', message: /more than the limit of 100000/ },
  },
  {
    name: 'table: an initial table at exactly the limit runs',
    wasm: `(module (table $t ${config.policy.maxTableElements} funcref) (func (export "main") (result i32) (table.size $t)))`,
    expect: { kind: 'ok', values: [config.policy.maxTableElements] },
  },
  {
    name: 'table: table.fill of 100,000 elements with 1000 fuel is out_of_fuel',
    wasm: `(module (table $t 100000 funcref) (func (export "main") (table.fill $t (i32.const 0) (ref.null func) (i32.const 100000))))`,
    request: { limits: { fuel: 1000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1000) },
  },
];

const stackBombs: Case[] = [
  {
    name: 'stack: unbounded recursion',
    wasm: '(module (func $f (export "main") (call $f)))',
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  {
    name: 'stack: mutual recursion',
    wasm: '(module (func $a (export "main") (call $b)) (func $b (call $c)) (func $c (call $a)))',
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  {
    name: 'stack: recursion through call_indirect',
    wasm: `(module (type $v (func)) (table 1 funcref) (elem (i32.const 0) $f)
      (func $f (export "main") (call_indirect (type $v) (i32.const 0))))`,
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  {
    name: 'stack: recursion with 1000 i64 locals per frame (large frames)',
    wasm: `(module (func $f (export "main") (param i64) (local ${'i64 '.repeat(1000)}) (local.set 1000 (local.get 0)) (call $f (local.get 1000))))`,
    request: { args: ['1'] },
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  {
    name: 'stack: recursion with v128 locals and many arguments',
    wasm: `(module (func $f (export "main") (param i32 i32 i32 i32 i32 i32 i32 i32) (local v128 v128 v128 v128 v128 v128 v128 v128)
      (call $f (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6) (local.get 7))))`,
    request: { args: [1, 2, 3, 4, 5, 6, 7, 8] },
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
  {
    name: 'stack: recursion in the start function',
    wasm: '(module (func $f (call $f)) (start $f) (func (export "main")))',
    expect: { kind: 'stack_overflow', message: DEPTH_MSG },
  },
];

const startBombs: Case[] = [
  {
    name: 'start: a start function that loops forever',
    wasm: '(module (func $s (loop $l (br $l))) (start $s) (func (export "main")))',
    request: { limits: { fuel: 1_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(1_000_000) },
  },
  {
    name: 'start: a start function that traps',
    wasm: '(module (func $s unreachable) (start $s) (func (export "main")))',
    expect: { kind: 'trap', message: 'wasm `unreachable` instruction executed', fuel: 1 },
  },
  {
    name: 'start: a start function that grows memory until refused, then traps',
    wasm: `(module (memory 1) (func $s (loop $l (if (i32.eq (memory.grow (i32.const 4)) (i32.const -1)) (then unreachable)) (br $l)))
      (start $s) (func (export "main")))`,
    request: { limits: { memoryBytes: 9 * PAGE } },
    expect: { kind: 'memory_limit', message: GROW_MSG(9 * PAGE) },
  },
  {
    name: 'start: a start function that floods output',
    wasm: `(module ${HOST} (memory 1) (func $s (loop $l (call $output (i32.const 0) (i32.const 65536)) (br $l))) (start $s) (func (export "main")))`,
    expect: { kind: 'trap', message: `output limit exceeded: at most ${MAX_OUT} bytes` },
  },
];

const floods: Case[] = [
  {
    name: 'output: writing 64 KiB chunks forever is the output cap trap',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (loop $l (call $output (i32.const 0) (i32.const 65536)) (br $l))))`,
    expect: { kind: 'trap', message: `output limit exceeded: at most ${MAX_OUT} bytes`, fuel: 16 * (65536 + 4) + 1 + 3 },
  },
  {
    name: 'output: one write one byte over the cap',
    wasm: `(module ${HOST} (memory 17) (func (export "main") (call $output (i32.const 0) (i32.const ${MAX_OUT + 1}))))`,
    expect: { kind: 'trap', message: `output limit exceeded: at most ${MAX_OUT} bytes` },
  },
  {
    name: 'output: exactly the cap is fine',
    wasm: `(module ${HOST} (memory 16) (func (export "main") (call $output (i32.const 0) (i32.const ${MAX_OUT}))))`,
    expect: { kind: 'ok', values: [], check: (t, b) => t.equal(Buffer.from(b.result.output, 'base64').length, MAX_OUT) },
  },
  {
    name: 'logs: 100,000 one-byte lines keep 256 and one warning',
    wasm: `(module ${HOST} (memory 1) (data (i32.const 0) "x")
      (func (export "main") (local $i i32) (loop $l (call $log (i32.const 2) (i32.const 0) (i32.const 1))
        (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1))) (i32.const 100000))))))`,
    expect: {
      kind: 'ok',
      check: (t, b) => {
        t.equal(b.logs.length, config.engine.output.maxLogLines + 1);
        t.same(b.logs.at(-1), { level: 'warn', message: `${100000 - config.engine.output.maxLogLines} more log line(s) dropped: the limit is ${config.engine.output.maxLogLines}` });
      },
    },
  },
  {
    name: 'logs: flooding forever runs out of fuel with capped logs',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (loop $l (call $log (i32.const 4) (i32.const 0) (i32.const 4096)) (br $l))))`,
    request: { limits: { fuel: 5_000_000 } },
    expect: { kind: 'out_of_fuel', message: FUEL_MSG(5_000_000) },
  },
  {
    name: 'logs: a 60,000-byte line is cut at 4096 bytes',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (memory.fill (i32.const 0) (i32.const 97) (i32.const 60000)) (call $log (i32.const 1) (i32.const 0) (i32.const 60000))))`,
    expect: { kind: 'ok', check: (t, b) => t.same(b.logs, [{ level: 'debug', message: `${'a'.repeat(config.engine.output.maxLogLineBytes)}… (truncated)` }]) },
  },
  {
    name: 'logs: level 5 is a trap',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $log (i32.const 5) (i32.const 0) (i32.const 1))))`,
    expect: { kind: 'trap', message: 'host.log: level 5 is not 0..4 (trace, debug, info, warn, error)' },
  },
  {
    name: 'logs: level -1 is a trap',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $log (i32.const -1) (i32.const 0) (i32.const 1))))`,
    expect: { kind: 'trap', message: /^host\.log: level (-1|4294967295) is not 0\.\.4/ },
  },
  {
    name: 'panic: a 1 MiB panic message is cut to maxLogLineBytes',
    wasm: `(module ${HOST} (memory 16) (func (export "main") (memory.fill (i32.const 0) (i32.const 98) (i32.const 1048576)) (call $panic (i32.const 0) (i32.const 1048576))))`,
    expect: { kind: 'panic', message: new RegExp(`^b{${config.engine.output.maxLogLineBytes}}`), check: (t, b) => t.ok(b.error.message.length <= config.engine.output.maxLogLineBytes + 20, 'cut') },
  },
  {
    name: 'panic: a 1 MiB panic message is cut and marked like a log line (ABI.md: "cut the same way")',
    wasm: `(module ${HOST} (memory 16) (func (export "main") (memory.fill (i32.const 0) (i32.const 98) (i32.const 1048576)) (call $panic (i32.const 0) (i32.const 1048576))))`,
    expect: { kind: 'panic', message: `${'b'.repeat(config.engine.output.maxLogLineBytes)}… (truncated)` },
  },
];

const badUtf8: Case[] = [
  {
    name: 'utf-8: invalid bytes in a log line become U+FFFD',
    wasm: `(module ${HOST} (memory 1) (data (i32.const 0) "ok\\ff\\fe\\80\\c3") (func (export "main") (call $log (i32.const 2) (i32.const 0) (i32.const 6))))`,
    expect: { kind: 'ok', check: (t, b) => t.same(b.logs, [{ level: 'info', message: 'ok\ufffd\ufffd\ufffd\ufffd' }]) },
  },
  {
    name: 'utf-8: a line cut inside a multi-byte character',
    wasm: `(module ${HOST} (memory 1) (data (i32.const 4095) "\\c3\\a9\\c3\\a9")
      (func (export "main") (memory.fill (i32.const 0) (i32.const 97) (i32.const 4095)) (call $log (i32.const 2) (i32.const 0) (i32.const 4099))))`,
    expect: { kind: 'ok', check: (t, b) => t.same(b.logs, [{ level: 'info', message: `${'a'.repeat(4095)}\ufffd… (truncated)` }]) },
  },
  {
    name: 'utf-8: invalid bytes in a panic message',
    wasm: `(module ${HOST} (memory 1) (data (i32.const 0) "no\\ed\\a0\\80") (func (export "main") (call $panic (i32.const 0) (i32.const 5))))`,
    expect: { kind: 'panic', message: 'no\ufffd\ufffd\ufffd' },
  },
  {
    name: 'utf-8: output is bytes, returned exactly (no decoding)',
    wasm: `(module ${HOST} (memory 1) (data (i32.const 0) "\\ff\\00\\fe") (func (export "main") (call $output (i32.const 0) (i32.const 3))))`,
    expect: { kind: 'ok', check: (t, b) => t.equal(b.result.output, b64(new Uint8Array([0xff, 0, 0xfe]))) },
  },
];

const pointers: Case[] = [
  {
    name: 'host pointer: output past the end of memory',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $output (i32.const 70000) (i32.const 10))))`,
    expect: { kind: 'trap', message: 'out of bounds memory access: host.output given 70000..70010 but memory is 65536 bytes' },
  },
  {
    name: 'host pointer: output length that overflows 32 bits',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $output (i32.const -1) (i32.const -1))))`,
    expect: { kind: 'trap', message: 'out of bounds memory access: host.output given 4294967295..8589934590 but memory is 65536 bytes' },
  },
  {
    name: 'host pointer: log with ptr + len wrapping around to a small number',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $log (i32.const 2) (i32.const 16) (i32.const -8))))`,
    expect: { kind: 'trap', message: /^out of bounds memory access: host\.log given 16\.\.4294967304 but memory is 65536 bytes$/ },
  },
  {
    name: 'host pointer: panic message outside memory',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $panic (i32.const 65530) (i32.const 100))))`,
    expect: { kind: 'trap', message: /^out of bounds memory access: host\.panic given 65530\.\.65630/ },
  },
  {
    name: 'host pointer: input_read into the last bytes of memory',
    wasm: `(module ${HOST} (memory 1) (func (export "main") (call $input_read (i32.const 65534))))`,
    request: { input: b64('hello') },
    expect: { kind: 'trap', message: 'out of bounds memory access: host.input_read given 65534..65539 but memory is 65536 bytes' },
  },
  {
    name: 'host pointer: a module without memory calling output',
    wasm: `(module ${HOST} (func (export "main") (call $output (i32.const 0) (i32.const 1))))`,
    expect: { kind: 'trap', message: 'host.output needs a linear memory, and the calling module has none' },
  },
];

// --- compile bombs ---------------------------------------------------------------------------------

/**
 * `(module (func (export "main") (result i32) (block $b (br_table $b … $b (i32.const 5))) (i32.const 7)))`
 * with `labels` labels (the last the default), written directly: the same bytes wabt gives, without
 * parsing a WAT text of `labels` names.
 */
function brTable(labels: number): Uint8Array {
  const body = concat([[0x00, 0x02, 0x40, 0x41, 0x05, 0x0e, ...uleb(labels - 1)], new Uint8Array(labels - 1), [0x00, 0x0b, 0x41, 0x07, 0x0b]]);
  return moduleOf(section(1, [1, 0x60, 0, 1, 0x7f]), section(3, [1, 0]), section(7, [1, ...name('main'), 0, 0]), sectionBytes(10, concat([[1, ...uleb(body.length)], body])));
}

const P = config.policy;
const compileBombs: Case[] = [
  {
    name: 'compile: one function over policy.maxFunctions',
    wasm: manyFunctions(P.maxFunctions + 1),
    expect: { status: 422, kind: 'policy_violation', message: `module has ${P.maxFunctions + 1} functions, more than the limit of ${P.maxFunctions}` },
  },
  {
    name: 'compile: 20,000 functions (within the policy) run',
    wasm: manyFunctions(20_000),
    expect: { kind: 'ok', values: [7] },
  },
  {
    name: 'compile: one local over policy.maxLocals',
    wasm: manyFunctions(1, { locals: P.maxLocals + 1 }),
    expect: { status: 422, kind: 'policy_violation', message: `function 0 declares ${P.maxLocals + 1} locals, more than the limit of ${P.maxLocals}` },
  },
  {
    name: 'compile: locals over the limit spread over many declarations',
    wasm: manyFunctions(1, { localGroups: Array.from({ length: 11 }, () => 1000) }),
    expect: { status: 422, kind: 'policy_violation', message: `function 0 declares 11000 locals, more than the limit of ${P.maxLocals}` },
  },
  {
    name: 'compile: a local count of 0xFFFFFFFF in one declaration',
    wasm: manyFunctions(1, { locals: 0xffffffff }),
    // V8's validator refuses it first (its own implementation limit), before the policy is checked
    expect: { status: 422, kind: 'invalid_module', message: /local count too large/ },
  },
  {
    name: 'compile: 200 functions with exactly maxLocals locals each',
    wasm: manyFunctions(200, { locals: P.maxLocals }),
    expect: { kind: 'ok', values: [7] },
  },
  {
    name: 'compile: one huge function body (3 MiB of i32.const/drop)',
    wasm: manyFunctions(2, { body: repeat([0x41, 0x01, 0x1a], 1_000_000) }),
    expect: { kind: 'ok', values: [7] },
  },
  {
    name: 'compile: 10,000 nested blocks',
    wasm: manyFunctions(2, { body: concat([new Uint8Array(10_000).fill(0x02).map((_, i) => (i % 2 ? 0x40 : 0x02)), new Uint8Array(5000).fill(0x0b)]) }),
    expect: { kind: 'ok', values: [7] },
  },
  {
    name: 'compile: a br_table with 65,000 targets runs',
    wasm: brTable(65_000),
    expect: { kind: 'ok', values: [7] },
  },
  {
    name: 'compile: a br_table with 200,000 targets is over V8\'s limit',
    wasm: brTable(200_000),
    expect: { status: 422, kind: 'invalid_module', message: /br_table size/ },
  },
  {
    name: 'compile: one import over policy.maxImports',
    wasm: `(module ${Array.from({ length: P.maxImports + 1 }, () => '(import "host" "input_len" (func (result i32)))').join(' ')} (func (export "main")))`,
    expect: { status: 422, kind: 'policy_violation', message: `module has ${P.maxImports + 1} imports, more than the limit of ${P.maxImports}` },
  },
  {
    name: 'compile: an inline module over policy.maxModuleBytes is 413',
    wasm: moduleOf(sectionBytes(0, concat([name('pad'), new Uint8Array(P.maxModuleBytes)]))),
    expect: { status: 413, kind: 'too_large', message: `the contract module is ${P.maxModuleBytes + 8 + 1 + 4 + 4} bytes, more than the module size limit of ${P.maxModuleBytes}` },
  },
];

// --- malformed binaries ---------------------------------------------------------------------------

const INVALID = { status: 422, kind: 'invalid_module' } as const;
const nameBombs: Case[] = [
  {
    name: 'names: 64 frames of a function named to demangle to 1.28 MB (a crafted C++ name): given as written, at once',
    wasm: BOMB_WASM,
    expect: {
      kind: 'stack_overflow',
      check: (t, body) => {
        t.equal(body.error.frames.length, 64, '64 frames');
        t.ok(body.error.frames.every((f: { name: string }) => f.name === BOMB), 'each named as written');
      },
    },
  },
  {
    name: 'names: 64 frames of a function with a 100,000-character name: cut to 1,024 characters each',
    wasm: LONG_NAME_WASM,
    expect: {
      kind: 'stack_overflow',
      check: (t, body) => {
        t.ok(body.error.frames.every((f: { name: string }) => f.name === `${LONG_NAME.slice(0, 1024)}…`), 'cut, with …');
        t.ok(JSON.stringify(body).length < 200_000, `an answer of ${JSON.stringify(body).length} bytes`);
      },
    },
  },
];

const malformed: Case[] = [
  { name: 'binary: empty module bytes', wasm: new Uint8Array(0), expect: { ...INVALID } },
  { name: 'binary: the magic only', wasm: new Uint8Array(HEADER.slice(0, 4)), expect: { ...INVALID } },
  { name: 'binary: version 2', wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]), expect: { ...INVALID } },
  { name: 'binary: a component-model header', wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]), expect: { ...INVALID } },
  { name: 'binary: wrong magic', wasm: new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0]), expect: { ...INVALID } },
  { name: 'binary: a section longer than the file', wasm: moduleOf([1, ...uleb(1000), 0x01, 0x60]), expect: { ...INVALID } },
  { name: 'binary: a section size of 0xFFFFFFFF', wasm: moduleOf([1, ...uleb(0xffffffff), 0x00]), expect: { ...INVALID } },
  { name: 'binary: an over-long LEB128 section size', wasm: moduleOf([1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]), expect: { ...INVALID } },
  { name: 'binary: an unknown section id', wasm: moduleOf(section(0x42, [1, 2, 3])), expect: { ...INVALID } },
  { name: 'binary: sections out of order', wasm: moduleOf(section(3, [0x00]), section(1, [0x00])), expect: { ...INVALID } },
  { name: 'binary: a duplicate type section', wasm: moduleOf(section(1, [0x00]), section(1, [0x00])), expect: { ...INVALID } },
  { name: 'binary: a type section claiming 2^32-1 types', wasm: moduleOf(section(1, uleb(0xffffffff))), expect: { ...INVALID } },
  { name: 'binary: a custom section whose name overflows it', wasm: moduleOf(section(0, [...uleb(1000), 0x61])), expect: { ...INVALID } },
  { name: 'binary: functions without a code section', wasm: moduleOf(section(1, [1, 0x60, 0, 0]), section(3, [1, 0])), expect: { ...INVALID } },
  { name: 'binary: a code body with a bogus opcode', wasm: moduleOf(section(1, [1, 0x60, 0, 0]), section(3, [1, 0]), section(7, [1, ...name('main'), 0, 0]), section(10, [1, 3, 0, 0xff, 0x0b])), expect: { ...INVALID } },
  { name: 'binary: a code body without its end', wasm: moduleOf(section(1, [1, 0x60, 0, 0]), section(3, [1, 0]), section(7, [1, ...name('main'), 0, 0]), section(10, [1, 2, 0, 0x01])), expect: { ...INVALID } },
  { name: 'binary: a valid header and garbage sections', wasm: concat([HEADER, randomBytes(4096, 7)]), expect: { ...INVALID } },
  { name: 'binary: an export of a function that does not exist', wasm: moduleOf(section(7, [1, ...name('main'), 0, 5])), expect: { ...INVALID } },
];
for (const [i, size] of [1, 7, 8, 100, 4096, 100_000].entries()) {
  malformed.push({ name: `binary: ${size} random bytes`, wasm: randomBytes(size, 1000 + i), expect: { ...INVALID } });
}

t.test('fuel bombs', async (t) => runCases(t, h, fuelBombs));
t.test('memory bombs', async (t) => runCases(t, h, memoryBombs));
t.test('table bombs', async (t) => runCases(t, h, tableBombs));
t.test('stack bombs', async (t) => runCases(t, h, stackBombs));
t.test('name bombs (error.frames)', async (t) => runCases(t, h, nameBombs));
t.test('start-function bombs', async (t) => runCases(t, h, startBombs));
t.test('output and log floods', async (t) => runCases(t, h, floods));
t.test('bad UTF-8', async (t) => runCases(t, h, badUtf8));
t.test('host pointers out of bounds', async (t) => runCases(t, h, pointers));
t.test('compile bombs', async (t) => runCases(t, h, compileBombs));
t.test('malformed binaries', async (t) => runCases(t, h, malformed));

t.test('truncated valid modules at many cut points (POST /execute and PUT /modules)', async (t) => {
  const mod = example('hello');
  const ends = new Set(sectionEnds(mod));
  // every cut inside a section: invalid; cuts at a section end are shorter, valid-looking modules
  const cuts: number[] = [];
  for (let i = 1; i < mod.length; i += Math.max(1, Math.floor(mod.length / 60))) if (!ends.has(i)) cuts.push(i);
  for (const i of [1, 4, 7, 9, 10, 11, mod.length - 1]) if (!ends.has(i) && !cuts.includes(i)) cuts.push(i);
  t.ok(cuts.length >= 50, `${cuts.length} cut points`);
  // every answer checked exactly, reported as one assertion per route (the cuts that failed, with why)
  const execute: Array<[number, Awaited<ReturnType<typeof req>>]> = [];
  const put: Array<[number, Awaited<ReturnType<typeof req>>]> = [];
  for (const cut of cuts) {
    const bytes = mod.subarray(0, cut);
    execute.push([cut, await req(app, { method: 'POST', url: '/execute', payload: { contract: { wasm: b64(bytes) } } })]);
    put.push([cut, await req(app, { method: 'PUT', url: '/modules', payload: Buffer.from(bytes), headers: { 'content-type': 'application/wasm' } })]);
  }
  check(t, `POST /execute: every cut inside a section is 422 invalid_module with the exact error body (${cuts.length} cuts)`, (c) => {
    for (const [cut, r] of execute) errorChecks(prefixed(c, `cut ${cut}: `), r, 422, 'invalid_module');
  });
  check(t, `PUT /modules: every cut inside a section is 422 invalid_module with the exact error body (${cuts.length} cuts)`, (c) => {
    for (const [cut, r] of put) errorChecks(prefixed(c, `cut ${cut}: `), r, 422, 'invalid_module');
  });
  // cut exactly at section ends: never a 500, a 4xx with its kind (or a run)
  const atEnds: string[] = [];
  for (const cut of ends) {
    if (cut >= mod.length) continue;
    const r = await req(app, { method: 'POST', url: '/execute', payload: { contract: { wasm: b64(mod.subarray(0, cut)) } } });
    if (![200, 400, 422].includes(r.status)) atEnds.push(`cut at section end ${cut}: ${r.status} ${r.body?.error?.kind ?? ''}`);
  }
  t.same(atEnds, [], 'every cut at a section end: 200, 400 or 422');
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h);
});

// short: the worker spins that long (CPU) before it is replaced
const TIMEOUT_MS = 100;
t.test(`timeout: a loop with 10^10 fuel and timeoutMs ${TIMEOUT_MS}; the worker is replaced`, async (t) => {
  const started = performance.now();
  const r = await req(app, {
    method: 'POST',
    url: '/execute',
    payload: { contract: { wasm: b64(await wat('(module (func (export "main") (loop $l (br $l))))')) }, limits: { fuel: config.limits.max.fuel, timeoutMs: TIMEOUT_MS } },
  });
  const ms = performance.now() - started;
  t.equal(r.status, 200);
  t.same(r.body.error, { kind: 'timeout', message: `execution stopped after ${TIMEOUT_MS} ms (wall clock)` });
  t.same(r.body.fuel, { limit: config.limits.max.fuel, consumed: config.limits.max.fuel, remaining: 0 });
  t.same(r.body.logs, []);
  t.ok(ms < TIMEOUT_MS + 10_000, `answered in ${Math.round(ms)} ms`);
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h, 'after the worker was replaced');

  // a start function that spins: the same
  const s = await req(app, {
    method: 'POST',
    url: '/execute',
    payload: { contract: { wasm: b64(await wat('(module (func $s (loop $l (br $l))) (start $s) (func (export "main")))')) }, limits: { fuel: config.limits.max.fuel, timeoutMs: TIMEOUT_MS } },
  });
  t.same(s.body.error, { kind: 'timeout', message: `execution stopped after ${TIMEOUT_MS} ms (wall clock)` });
  await assertProcessHealthy(t, app);
  await assertHealthy(t, h, 'after the start-function timeout');
});
