/**
 * Trap blocks (src/wasm/meter-code.ts, `trapIf`): every fuel charge and stack-budget check is a
 * `br_if` to one of the function's trap blocks (out of fuel, stack overflow) around its body, instead
 * of an inline `if … unreachable end`. These cases put checks at every nesting (blocks, loops, ifs,
 * else arms), in functions with parameters and multi-value results, with branches to the function's
 * own label, and run them at every fuel limit around the exact cost, in the exact variant and with the
 * fuel in a local; then through the engine (prepare + execute).
 */
import t from 'tap';
import { type InstrumentOptions, instrument, instrumentModule } from '../../src/wasm/instrument.js';
import { decodeInstructions, instrName } from '../../src/wasm/instructions.js';
import { METER_GLOBALS, METER_MODULE, MeterFlag } from '../../src/wasm/meter-abi.js';
import { readModule } from '../../src/wasm/reader.js';
import { DEFAULT_ENGINE_CONFIG } from '../../src/engine/defaults.js';
import { CROSSING_BYTES, frameCost } from '../../src/wasm/frame-cost.js';
import { runOnce, wat } from '../support/wat.js';

type Fn = (...a: unknown[]) => unknown;

/** The frame cost of defined function `f` of a module (frame-cost.ts). */
const frameOf = (bytes: Uint8Array, f: number) => frameCost(readModule(bytes), f);

const SRC = `(module
  (memory 1)
  ;; walk(n, acc) -> (i, acc'): a loop whose segments sit at nestings 1 to 5, a bulk operator inside
  ;; an else arm, and a branch to the function's own label from inside the if (nesting 4)
  (func $walk (export "walk") (param $n i32) (param $acc i64) (result i32 i64) (local $i i32)
    block $out (result i32 i64)
      loop $l
        local.get $i local.get $n i32.ge_s
        if
          local.get $i local.get $acc
          br $out
        end
        block
          local.get $i i32.const 1 i32.and
          if
            local.get $acc i64.const 3 i64.add local.set $acc
            local.get $i i32.const 5 i32.eq
            if
              local.get $i local.get $acc i64.const 1000 i64.add
              br 4 ;; the function's label: returns
            end
          else
            block
              loop
                local.get $acc i64.const 1 i64.add local.tee $acc
                i64.const 7 i64.rem_u i64.eqz
                br_if 1
                local.get $acc i64.const 64 i64.lt_u
                br_if 0
              end
              i32.const 0 i32.const 0 local.get $i memory.fill
            end
          end
        end
        local.get $i i32.const 1 i32.add local.set $i
        br $l
      end
      unreachable
    end)
  ;; deep(n, x) -> (0, x + 2n): n nested calls, the call at nesting 4 (block, loop, if, block)
  (func $deep (export "deep") (param $n i32) (param $x i64) (result i32 i64)
    block (result i32 i64)
      loop (result i32 i64)
        local.get $n
        if (result i32 i64)
          block (result i32 i64)
            local.get $n i32.const 1 i32.sub
            local.get $x i64.const 2 i64.add
            call $deep
          end
        else
          i32.const 0 local.get $x
          br 3 ;; the function's label
        end
      end
    end)
  ;; one result, one parameter, and no results: the shorthand block types
  (func $sum (export "sum") (param $n i32) (result i32)
    local.get $n
    if (result i32)
      local.get $n i32.const 1 i32.sub call $sum local.get $n i32.add
    else
      i32.const 0
    end)
  (func $spin (export "spin") (param $n i32)
    loop
      local.get $n i32.const 1 i32.sub local.tee $n
      br_if 0
    end))`;

function meter(fuel: bigint, stack: number) {
  const g = {
    fuel: new WebAssembly.Global({ value: 'i64', mutable: true }, fuel),
    stack: new WebAssembly.Global({ value: 'i32', mutable: true }, stack),
    pages: new WebAssembly.Global({ value: 'i32', mutable: true }, 100),
    flags: new WebAssembly.Global({ value: 'i32', mutable: true }, 0),
  };
  return { g, imports: { [METER_MODULE]: { [METER_GLOBALS.fuel]: g.fuel, [METER_GLOBALS.stack]: g.stack, [METER_GLOBALS.pages]: g.pages, [METER_GLOBALS.flags]: g.flags } } };
}

interface Run {
  value?: unknown;
  left: bigint;
  flags: number;
  trapped: boolean;
}

function runner(bytes: Uint8Array) {
  const mod = new WebAssembly.Module(bytes as BufferSource);
  return (entry: string, args: unknown[], fuel: bigint, stack = 1 << 20): Run => {
    const m = meter(fuel, stack);
    const i = new WebAssembly.Instance(mod, m.imports);
    try {
      const value = (i.exports[entry] as Fn)(...args);
      return { value, left: m.g.fuel.value as bigint, flags: m.g.flags.value as number, trapped: false };
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      return { left: m.g.fuel.value as bigint, flags: m.g.flags.value as number, trapped: true };
    }
  };
}

const VARIANTS: [string, InstrumentOptions][] = [
  ['exact', {}],
  ['fuel in a local', { localFuel: true }],
];

t.test('the rewritten bodies: one trap block per kind, no inline trap', async (t) => {
  const src = await wat(SRC);
  for (const [name, o] of VARIANTS) {
    const out = instrumentModule(readModule(src), o);
    const m = readModule(out.bytes);
    // defined functions 0..3 are the originals; count their unreachables and ifs
    const orig = readModule(src);
    for (let f = 0; f < orig.code.length; f++) {
      const count = (mod: typeof m, op: string) => {
        const b = mod.code[f]!;
        return decodeInstructions(mod.bytes, b.codeStart, b.body.end).filter((i) => instrName(i) === op).length;
      };
      // every function charges its frame at entry and checks fuel: both trap blocks
      t.equal(count(m, 'unreachable') - count(orig, 'unreachable'), 2, `${name}, function ${f}: two trap blocks`);
      t.equal(count(m, 'if'), count(orig, 'if'), `${name}, function ${f}: no \`if\` added`);
    }
    // deep and walk have (i32 i64) results and parameters: one type [] -> [i32 i64] is added
    t.ok(m.types.some((ty) => ty.params.length === 0 && ty.results.join() === '127,126'), `${name}: a block type [] -> [i32 i64]`);
  }
  // neither fuel nor stack: the bodies are not wrapped
  const bare = readModule(instrument(src, { fuel: false, stack: false }));
  const b = bare.code[3]!;
  t.equal(decodeInstructions(bare.bytes, b.codeStart, b.body.end).filter((i) => instrName(i) === 'unreachable').length, 0, 'no trap blocks without checks');
  // only the stack budget: sum(10) is 11 frames of sum
  const stackOnly = runner(instrument(src, { fuel: false }));
  t.same(stackOnly('sum', [10], 0n).value, 55);
  t.same(stackOnly('spin', [10], 0n).value, undefined);
  const over = stackOnly('sum', [10], 0n, 10 * frameOf(src, 2));
  t.same([over.trapped, over.flags], [true, MeterFlag.stackOverflow], 'stack only: stack overflow at the 11th frame of a budget for 10');
});

t.test('out of fuel at every limit up to the exact cost, checks at every nesting', async (t) => {
  const src = await wat(SRC);
  const cases: [string, unknown[]][] = [
    ['walk', [12, 0n]],
    ['walk', [4, 5n]],
    ['deep', [6, 1n]],
    ['sum', [7]],
    ['spin', [5]],
  ];
  const costs: Record<string, bigint> = {};
  for (const [name, o] of VARIANTS) {
    const run = runner(instrument(src, o));
    for (const [entry, args] of cases) {
      const label = `${name}: ${entry}(${args.join(', ')})`;
      const ample = run(entry, args, 1n << 40n);
      t.equal(ample.trapped, false, `${label} runs`);
      const cost = (1n << 40n) - ample.left;
      costs[label.slice(name.length)] ??= cost;
      t.equal(cost, costs[label.slice(name.length)], `${label}: cost ${cost} in both variants`);
      let wrong = 0;
      for (let limit = 0n; limit <= cost + 1n; limit++) {
        const r = run(entry, args, limit);
        if (limit >= cost) {
          if (r.trapped || r.left !== limit - cost || r.flags !== 0 || JSON.stringify(r.value, (_, v) => (typeof v === 'bigint' ? `${v}` : v)) !== JSON.stringify(ample.value, (_, v) => (typeof v === 'bigint' ? `${v}` : v))) wrong++;
        } else if (!r.trapped || r.flags !== MeterFlag.outOfFuel) wrong++;
      }
      t.equal(wrong, 0, `${label}: out of fuel below ${cost}, the same result at ${cost} and above`);
    }
  }
  // hand-counted: spin(n) = entry 1 + n × (get, const, sub, tee, br_if) = 1 + 5n;
  // sum(n) = n × (entry, get, if, get, const, sub, call, get, add) + (entry, get, if, const) = 9n + 4
  t.equal(costs[': spin(5)'], 26n);
  t.equal(costs[': sum(7)'], 7n * 9n + 4n);
  // deep(n): per level entry 1 + get + if + get, const, sub, get, const, add, call = 10, the last 1 + 2 + 3 (consts, get, br)
  t.equal(costs[': deep(6, 1)'], 6n * 10n + 1n + 1n + 1n + 3n);
  t.same(runner(instrument(src))('deep', [6, 1n], 1n << 40n).value, [0, 13n], 'multi-value results through the result block');
  t.same(runner(instrument(src))('walk', [12, 0n], 1n << 40n).value, [5, 1024n], 'a branch to the function label returns');
});

t.test('stack overflow at the exact budget, the call inside nested blocks', async (t) => {
  const src = await wat(SRC);
  const deepCost = frameOf(src, 1);
  const sumCost = frameOf(src, 2);
  for (const [name, o] of VARIANTS) {
    const run = runner(instrument(src, o));
    // deep(d) is d + 1 frames of deep
    for (const depth of [1, 2, 17]) {
      const ok = run('deep', [depth, 0n], 1n << 40n, (depth + 1) * deepCost);
      t.same([ok.trapped, ok.value], [false, [0, BigInt(2 * depth)]], `${name}: deep(${depth}) in ${depth + 1} frames`);
      const over = run('deep', [depth + 1, 0n], 1n << 40n, (depth + 1) * deepCost);
      t.same([over.trapped, over.flags], [true, MeterFlag.stackOverflow], `${name}: deep(${depth + 1}) in ${depth + 1} frames: stack overflow`);
      const sum = run('sum', [depth + 1], 1n << 40n, (depth + 1) * sumCost);
      t.same([sum.trapped, sum.flags], [true, MeterFlag.stackOverflow], `${name}: sum(${depth + 1}) in ${depth + 1} frames: stack overflow`);
    }
    // out of fuel and out of stack in one run: whichever check comes first flags the trap. With 4
    // frames, deep(4) pays 10 on each of 4 levels, then the fifth frame's check fails before its entry fuel
    const first = run('deep', [4, 0n], 40n, 4 * deepCost);
    t.same([first.trapped, first.flags], [true, MeterFlag.stackOverflow], `${name}: fuel 40: the stack check fails`);
    const fuelFirst = run('deep', [4, 0n], 39n, 4 * deepCost);
    t.same([fuelFirst.trapped, fuelFirst.flags], [true, MeterFlag.outOfFuel], `${name}: fuel 39: out of fuel before it`);
  }
});

t.test('through the engine: out_of_fuel with consumed == limit, stack_overflow, exact fuel', async (t) => {
  const src = await wat(SRC);
  const full = await runOnce(src, { entry: 'walk', args: [12, '0'] });
  t.equal(full.error, null);
  const cost = full.fuel.consumed;
  const exact = await runOnce(src, { entry: 'walk', args: [12, '0'], fuel: cost });
  t.same([exact.ok, exact.fuel.remaining], [true, 0], `walk at its cost ${cost}`);
  for (const limit of [cost - 1, Math.floor(cost / 2), 3, 1]) {
    const r = await runOnce(src, { entry: 'walk', args: [12, '0'], fuel: limit });
    t.same([r.error?.kind, r.fuel.consumed], ['out_of_fuel', limit], `limit ${limit}: out_of_fuel, consumed == limit`);
  }
  const max = Math.floor(DEFAULT_ENGINE_CONFIG.maxStackBytes / frameOf(src, 1)) - 1;
  const deep = await runOnce(src, { entry: 'deep', args: [max, '0'] });
  t.same([deep.ok, deep.fuel.consumed], [true, max * 10 + 6], `deep(${max}) runs, ${max * 10 + 6} fuel`);
  const over = await runOnce(src, { entry: 'deep', args: [max + 1, '0'] });
  t.equal(over.error?.kind, 'stack_overflow', `deep(${max + 1}): stack_overflow`);
  // the failing frame's check comes before its entry fuel: every call up to it is paid
  t.equal(over.fuel.consumed, (max + 1) * 10, 'stack_overflow: the fuel of the calls up to the failing one');
  // an ordinary trap mid-block still maps back to its instruction (exact fuel after the trap)
  const trap = await runOnce(`(module (func (export "main") (result i32)
    block (result i32) loop (result i32) i32.const 1 i32.const 0 i32.div_u i32.const 5 i32.add end end))`);
  t.same([trap.error?.kind, trap.fuel.consumed], ['trap', 1 + 3], 'a division trap: entry + 3 operators, the rest refunded');
});

// Every function charges its own frame at entry, whatever reaches it (a direct call, call_indirect,
// ref.func, the embedder); a tail call gives the caller's frame back first.
const DEPTH_SRC = `(module
  (type $t (func (param i32) (result i32)))
  (table 2 funcref)
  (elem (i32.const 0) $inTable)
  (func $inTable (param i32) (result i32)
    local.get 0 if (result i32) local.get 0 i32.const 1 i32.sub call $direct else i32.const 0 end)
  ;; alternates with $inTable: direct(n) is n + 1 frames
  (func $direct (export "direct") (param i32) (result i32)
    local.get 0 if (result i32) local.get 0 i32.const 1 i32.sub i32.const 0 call_indirect (type $t) else i32.const 0 end)
  ;; tail recursion: one frame at a time
  (func $tail (export "tail") (param i32) (result i32)
    local.get 0 i32.eqz if (result i32) i32.const 7 else local.get 0 i32.const 1 i32.sub return_call $tail end)
  (func (export "callsTail") (param i32) (result i32) local.get 0 call $tail)
  ;; exported and taken by ref.func in code; viaRef(n) = its own frame + n + 1 frames of $r
  (func $r (export "r") (param i32) (result i32)
    local.get 0 if (result i32) local.get 0 i32.const 1 i32.sub call $r else i32.const 0 end)
  (func (export "viaRef") (param i32) (result i32)
    (table.set (i32.const 1) (ref.func $r))
    local.get 0 i32.const 1 call_indirect (type $t)))`;

t.test('stack budget: every function its own frame, whatever reaches it', async (t) => {
  const src = await wat(DEPTH_SRC);
  const m = readModule(src);
  const c = (f: number) => frameOf(src, f);
  const variants: [string, (entry: string, arg: number, stack: number) => Run][] = [
    ...VARIANTS.map(([name, o]) => {
      const run = runner(instrument(src, o));
      return [name, (entry: string, arg: number, stack: number) => run(entry, [arg], 1n << 40n, stack)] as [string, (e: string, a: number, d: number) => Run];
    }),
    [
      'standalone',
      (entry: string, arg: number, stackBytes: number): Run => {
        const i = new WebAssembly.Instance(new WebAssembly.Module(instrument(src, { standalone: { fuel: 1n << 40n, stackBytes } }) as BufferSource));
        const flags = () => (i.exports.__meter_flags as WebAssembly.Global).value as number;
        try {
          return { value: (i.exports[entry] as Fn)(arg), left: 0n, flags: flags(), trapped: false };
        } catch (e) {
          if (!(e instanceof WebAssembly.RuntimeError)) throw e;
          return { left: 0n, flags: flags(), trapped: true };
        }
      },
    ],
  ];
  t.equal(m.code.length, 6);
  // the frames each entry needs for argument n
  const need: Record<string, (n: number) => number> = {
    direct: (n) => Array.from({ length: n + 1 }, (_, k) => (k % 2 === 0 ? c(1) : c(0))).reduce((a, b) => a + b, 0),
    r: (n) => (n + 1) * c(4),
    viaRef: (n) => c(5) + (n + 1) * c(4),
  };
  for (const [name, run] of variants) {
    for (const [entry, frames] of Object.entries(need)) {
      for (const n of [0, 1, 4, 63]) {
        const a = run(entry, n, frames(n));
        const b = run(entry, n + 1, frames(n));
        t.same([a.trapped, a.flags, b.trapped, b.flags], [false, 0, true, MeterFlag.stackOverflow], `${name}: ${entry}(${n}) fits ${frames(n)} bytes, ${entry}(${n + 1}) does not`);
      }
    }
    t.same(run('tail', 100_000, c(2)).value, 7, `${name}: tail calls replace the frame: one frame of tail for any depth`);
    t.same(run('callsTail', 100_000, c(3) + c(2)).value, 7, `${name}: a call of it, two frames`);
    t.same([run('callsTail', 3, c(3) + c(2) - 1).trapped, run('callsTail', 3, c(3) + c(2) - 1).flags], [true, MeterFlag.stackOverflow], `${name}: ... and one byte less fails`);
  }
  // the budget is back where it was after a run, in each kind of function
  const mt = meter(1n << 40n, 50_000);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(instrument(src, { localFuel: true }) as BufferSource), mt.imports);
  for (const e of ['direct', 'r', 'viaRef', 'callsTail']) {
    (inst.exports[e] as Fn)(20);
    t.equal(mt.g.stack.value, 50_000, `${e}: the budget is given back`);
  }
  // traceFunction (the refund path) lays out the bodies as the instrumentation does
  const { traceFunction } = await import('../../src/wasm/instrument.js');
  const out = instrumentModule(readModule(src), { localFuel: true });
  const om = readModule(out.bytes);
  for (let f = 0; f < m.code.length; f++) {
    const tr = traceFunction(readModule(src), f, { localFuel: true });
    const body = om.code[f]!;
    const last = tr.outOffsets[tr.outOffsets.length - 1]!;
    t.equal(om.bytes[out.bodyStarts[f]! + last], 0x0b, `function ${f}: the trace's last instruction is the body's \`end\``);
    t.ok(out.bodyStarts[f]! + last < body.body.end, `function ${f}: inside the body`);
  }
});

t.test('stack budget across modules: the call into the library costs the crossing', async (t) => {
  const lib = `(module (func $rec (export "rec") (param i32) (result i32)
    local.get 0 if (result i32) local.get 0 i32.const 1 i32.sub call $rec i32.const 1 i32.add else i32.const 0 end))`;
  const contract = `(module (import "lib" "rec" (func $rec (param i32) (result i32)))
    (func (export "main") (param i32) (result i32) local.get 0 call $rec))`;
  const recCost = frameOf(await wat(lib), 0);
  const mainCost = frameOf(await wat(contract), 0);
  // main's frame, the crossing, then n + 1 frames of rec
  const max = Math.floor((DEFAULT_ENGINE_CONFIG.maxStackBytes - mainCost - CROSSING_BYTES) / recCost) - 1;
  const ok = await runOnce(contract, { library: lib, args: [max] });
  t.same([ok.ok, ok.result?.values], [true, [max]], `main(${max}): ${max + 1} frames of rec fit`);
  const over = await runOnce(contract, { library: lib, args: [max + 1] });
  t.equal(over.error?.kind, 'stack_overflow', `main(${max + 1}): one too many`);
  // fuel: main entry 1 + get + call = 3; rec(n) = n × (entry, get, if, get, const, sub, call, const, add) + (entry, get, if, const)
  t.equal(ok.fuel.consumed, 3 + max * 9 + 4, 'exact fuel');
});

t.test('bulk charges at nesting: memory.fill and table.grow run out of fuel into the right block', async (t) => {
  const src = await wat(`(module
    (memory 1) (table 1 funcref)
    (func (export "grow") (param $n i32) (result i32)
      block (result i32)
        loop (result i32)
          local.get $n
          if (result i32)
            ref.null func local.get $n table.grow 0
          else
            i32.const 0 i32.const 0 i32.const 100 memory.fill
            i32.const -5
          end
        end
      end))`);
  for (const [name, o] of VARIANTS) {
    const run = runner(instrument(src, o));
    // grow(n): entry 1 + get + if = 3, then ref.null, get, table.grow = 3, + n elements when it grows
    // grow(0): 3, then 3 consts + fill = 4, + 100 bytes, then const = 1
    for (const [arg, cost] of [[7, 6 + 7], [0, 3 + 4 + 100 + 1]] as const) {
      const ok = run('grow', [arg], BigInt(cost));
      t.same([ok.trapped, ok.left, ok.flags], [false, 0n, 0], `${name}: grow(${arg}) with exactly ${cost}`);
      for (const limit of [cost - 1, cost - arg - 1, 5, 2, 0]) {
        if (limit < 0) continue;
        const r = run('grow', [arg], BigInt(limit));
        t.same([r.trapped, r.flags], [true, MeterFlag.outOfFuel], `${name}: grow(${arg}) with ${limit}: out of fuel`);
      }
    }
  }
});
