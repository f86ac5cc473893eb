// Child process of stack-tiers.test.ts, started with V8 flags that pin a tier (--liftoff-only, or
// --no-liftoff for TurboFan only). Reads the cases (compiled module bytes) from the file in argv[2]
// and prints one JSON line: each execution's outcome and fuel, run in a worker thread whose stack is
// derived from the budget exactly as the pool does, and per measured case V8's real stack per level
// against the charged budget per level. Uses dist/ (npm run build).
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

const dist = new URL('../../dist/', import.meta.url);
const load = (path) => import(new URL(path, dist).href);
// each thread loads only what it uses (the engine is ~100 modules, ~0.1 CPU-s per thread)
const role = isMainThread ? 'main' : workerData.kind;
const { execute } = role === 'exec' ? await load('engine/execute.js') : {};
const { prepare } = role === 'exec' ? await load('engine/prepare.js') : {};
const { DEFAULT_ENGINE_CONFIG, DEFAULT_ENGINE_POLICY, workerStackMb } = await load('engine/defaults.js');
const { instrument } = role !== 'main' ? await load('wasm/instrument.js') : {};
const { Meter } = role !== 'main' ? await load('engine/meter.js') : {};

const MIB = 1024 * 1024;

function inWorker(data, stackSizeMb) {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL(import.meta.url), { workerData: data, resourceLimits: { stackSizeMb } });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

/** Executions through the engine, as a pool worker runs them. */
function executions({ cases, budget }) {
  const config = { ...DEFAULT_ENGINE_CONFIG, maxStackBytes: budget };
  const prep = (b64) => prepare(Buffer.from(b64, 'base64'), config.instrument, DEFAULT_ENGINE_POLICY);
  const out = [];
  for (const c of cases) {
    const contract = prep(c.contract);
    const library = c.library ? prep(c.library) : null;
    for (const args of c.args) {
      // twice: the second run finds the code compiled (and, without pinned flags, maybe hotter)
      for (let k = 0; k < 2; k++) {
        const r = execute({ contract, library, link: c.link, entrypoint: c.entry, args, limits: { fuel: 1e10, memoryBytes: 64 * MIB, timeoutMs: 60_000 } }, config);
        out.push({ name: c.name, args, ok: r.ok, kind: r.error?.kind ?? null, message: r.error?.message ?? null, fuel: r.fuel.consumed, frames: r.error?.frames ?? null, framesOmitted: r.error?.framesOmitted ?? null });
      }
      // profiled: the hooks call into JavaScript at every depth, and must not reach V8's own limit either
      const p = execute({ contract, library, link: c.link, entrypoint: c.entry, args, limits: { fuel: 1e10, memoryBytes: 64 * MIB, timeoutMs: 60_000 }, fuelProfile: { format: 'collapsed' } }, config);
      const digest = createHash('sha256').update(JSON.stringify(p.profile)).digest('hex');
      out.push({ name: `${c.name} (profiled)`, args, ok: p.ok, kind: p.error?.kind ?? null, message: p.error?.message ?? null, fuel: p.fuel.consumed, frames: p.error?.frames ?? null, framesOmitted: p.error?.framesOmitted ?? null, profile: { total: p.profile.total, sha256: digest } });
    }
  }
  return out;
}

/** Levels of recursion reached: under the budget (charged), or under V8's own limit (the budget out of reach). */
function levels({ bytes, budget }) {
  const meter = new Meter(1n << 60n, budget, 100);
  const i = new WebAssembly.Instance(new WebAssembly.Module(instrument(Buffer.from(bytes, 'base64'), {})), meter.importObject);
  i.exports.run(3);
  let engine = false;
  try {
    i.exports.run(10_000_000);
  } catch (e) {
    engine = e instanceof RangeError;
  }
  return { max: i.exports.max.value, engine };
}

if (!isMainThread) {
  const d = workerData;
  // the exec worker (its stack derived from the budget) also counts the levels each shape fits in the budget
  if (d.kind === 'exec') parentPort.postMessage({ results: executions(d), charged: d.measure.map((m) => levels({ bytes: m.bytes, budget: d.budget })) });
  // one thread per stack size measures every shape in turn: each call starts at the same depth
  else parentPort.postMessage(d.shapes.map((bytes) => levels({ bytes, budget: d.budget })));
} else {
  const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const budget = input.budget;
  const { results, charged } = await inWorker({ kind: 'exec', cases: input.cases, measure: input.measure, budget }, workerStackMb(budget));
  const margins = [];
  // V8's real bytes per level: the difference between two stack sizes removes the host's frames
  const shapes = input.measure.map((m) => m.bytes);
  const small = await inWorker({ kind: 'levels', shapes, budget: 2 ** 30 }, 2);
  const large = await inWorker({ kind: 'levels', shapes, budget: 2 ** 30 }, 4);
  for (const [k, m] of input.measure.entries()) {
    const [a, b] = [small[k], large[k]];
    margins.push({
      name: m.name,
      realPerLevel: (2 * MIB) / (b.max - a.max),
      chargedPerLevel: budget / charged[k].max,
      engineLimit: a.engine && b.engine,
      budgetLimit: !charged[k].engine,
    });
  }
  process.stdout.write(JSON.stringify({ results, margins, node: process.version }) + '\n');
}
