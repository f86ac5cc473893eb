/**
 * The profiler of one execution (docs/PROFILING.md): a shadow stack kept from the profiling variant's
 * hooks (wasm/profile-hooks.ts) and from wrappers around host imports and the bridge's copies. Every
 * hook reports the fuel left; what was consumed since the previous event is charged to the frame on
 * top, so the profile counts exactly what the meter counts. After the run the remainder (a trap's refund
 * settled, the fuel a trapped block or host call consumed) goes to the innermost frame, and the frames
 * still on the stack are closed: `sum(self) == fuel.consumed` for every outcome.
 *
 * Kept per frame: self, total (fuel while the frame is on the stack at least once, so recursion counts
 * once), calls; per caller/callee pair of wasm functions the same; and the calling-context tree, bounded
 * in nodes and depth (deeper or further paths are summed in a `(truncated)` node under their parent).
 */
import type { CallTree } from './types.js';

export const MAX_TREE_NODES = 2000;
export const MAX_TREE_DEPTH = 128;

/**
 * A wasm function, or a host frame: an import of a module (`import` as `host.log`, `lib.echo` for a
 * bridge copy; `index` its function index in the importing module), or one of the profiler's own rows.
 */
export type FrameRef =
  | { kind: 'wasm'; module: 'contract' | 'library'; index: number }
  | { kind: 'host'; import: string; module: 'contract' | 'library' | null; index: number | null };

/** Host frames that are not imports: fuel outside every function, and the tree's cut-off paths. */
export const OUTSIDE = '(host)';
export const TRUNCATED = '(truncated)';

export interface FrameStats {
  self: number;
  total: number;
  calls: number;
}

export interface EdgeStats {
  caller: number;
  callee: number;
  calls: number;
  fuel: number;
}

export interface ProfilerResult {
  frames: FrameRef[];
  stats: FrameStats[];
  edges: EdgeStats[];
  tree: CallTree;
}

const FRAME_BITS = 2 ** 22; // frame ids per tree node in the children key (V8 allows 1M functions a module)

export class FuelProfiler {
  private readonly frames: FrameRef[] = [];
  private readonly ids = new Map<number | string, number>();
  private readonly stats: FrameStats[] = [];
  private readonly onStack: number[] = [];
  private readonly openedAt: number[] = [];
  private readonly tree: CallTree = { frame: [-1], parent: [-1], self: [0] };
  private readonly depth: number[] = [0];
  private readonly children = new Map<number, number>();
  private readonly edges = new Map<number, EdgeStats & { onStack: number; openedAt: number }>();
  // the shadow stack: frame, tree node, edge key (-1: none) of each entry
  private readonly sFrame: number[] = [];
  private readonly sNode: number[] = [];
  private readonly sEdge: number[] = [];
  /** Fuel attributed so far, and the fuel left at the last event. */
  private spent = 0;
  private last: number;

  constructor(fuelLimit: number) {
    this.last = fuelLimit;
  }

  /** The hooks the profiling variant of one module imports (`__meter.profile_enter` / `profile_exit`). */
  hooks(module: 'contract' | 'library'): Record<string, (index: number, fuelLeft: number) => void> {
    const bit = module === 'library' ? 1 : 0;
    const id = (index: number) => this.ids.get(index * 2 + bit) ?? this.frameId(index * 2 + bit, { kind: 'wasm', module, index });
    return {
      profile_enter: (index, fuelLeft) => {
        this.advance(fuelLeft);
        this.push(id(index));
      },
      profile_exit: (index, fuelLeft) => {
        this.advance(fuelLeft);
        this.popTo(id(index));
      },
    };
  }

  /** `fn` (a host import, a bridge copy) as a frame of its own; `fuelLeft` reads the shared meter. */
  wrapHost<F extends (...args: never[]) => unknown>(ref: FrameRef & { kind: 'host' }, fn: F, fuelLeft: () => number): F {
    const id = this.frameId(`${ref.module}\n${ref.import}`, ref);
    return ((...args: never[]) => {
      this.advance(fuelLeft());
      this.push(id);
      const result = fn(...args);
      // a throw ends the execution: the frame stays on top and gets the rest (`finish`)
      this.advance(fuelLeft());
      this.popTo(id);
      return result;
    }) as F;
  }

  /** Charges what is left of `consumed` to the innermost frame, closes every open frame, and answers the data. */
  finish(consumed: number): ProfilerResult {
    this.charge(consumed - this.spent);
    while (this.sFrame.length) this.pop();
    return { frames: this.frames, stats: this.stats, edges: [...this.edges.values()].map(({ caller, callee, calls, fuel }) => ({ caller, callee, calls, fuel })), tree: this.tree };
  }

  private frameId(key: number | string, ref: FrameRef): number {
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.frames.push(ref) - 1;
      this.ids.set(key, id);
      this.stats.push({ self: 0, total: 0, calls: 0 });
      this.onStack.push(0);
      this.openedAt.push(0);
    }
    return id;
  }

  private own(name: string): number {
    return this.frameId(name, { kind: 'host', import: name, module: null, index: null });
  }

  private advance(fuelLeft: number): void {
    const d = this.last - fuelLeft;
    this.last = fuelLeft;
    if (d !== 0) this.charge(d);
  }

  private charge(d: number): void {
    if (d === 0) return;
    this.spent += d;
    const n = this.sNode.length;
    if (n === 0) {
      // outside every function (no wasm frame, no host call): a row of its own, so the sums stay exact
      const outside = this.own(OUTSIDE);
      this.stats[outside]!.self += d;
      this.stats[outside]!.total += d;
      this.tree.self[this.child(0, outside)]! += d;
      return;
    }
    this.stats[this.sFrame[n - 1]!]!.self += d;
    this.tree.self[this.sNode[n - 1]!]! += d;
  }

  private push(frame: number): void {
    const parent = this.sNode.length ? this.sNode[this.sNode.length - 1]! : 0;
    const node = this.child(parent, frame);
    const s = this.stats[frame]!;
    s.calls++;
    if (this.onStack[frame]!++ === 0) this.openedAt[frame] = this.spent;
    let edgeKey = -1;
    const ref = this.frames[frame]!;
    if (ref.kind === 'wasm') {
      const caller = this.callerFrame();
      if (caller >= 0) {
        edgeKey = caller * FRAME_BITS + frame;
        let e = this.edges.get(edgeKey);
        if (!e) this.edges.set(edgeKey, (e = { caller, callee: frame, calls: 0, fuel: 0, onStack: 0, openedAt: 0 }));
        e.calls++;
        if (e.onStack++ === 0) e.openedAt = this.spent;
      }
    }
    this.sFrame.push(frame);
    this.sNode.push(node);
    this.sEdge.push(edgeKey);
  }

  /** Pops down to and including the innermost entry of `frame` (a frame left by a trap the module caught is closed too). */
  private popTo(frame: number): void {
    if (this.onStack[frame] === 0) return;
    while (this.sFrame.length && this.pop() !== frame);
  }

  private pop(): number {
    const frame = this.sFrame.pop()!;
    this.sNode.pop();
    const edgeKey = this.sEdge.pop()!;
    if (--this.onStack[frame]! === 0) this.stats[frame]!.total += this.spent - this.openedAt[frame]!;
    if (edgeKey >= 0) {
      const e = this.edges.get(edgeKey)!;
      if (--e.onStack === 0) e.fuel += this.spent - e.openedAt;
    }
    return frame;
  }

  /** The nearest wasm frame on the stack (through host frames: a bridge copy calls the library for the contract). */
  private callerFrame(): number {
    for (let i = this.sFrame.length - 1; i >= 0; i--) if (this.frames[this.sFrame[i]!]!.kind === 'wasm') return this.sFrame[i]!;
    return -1;
  }

  private child(parent: number, frame: number): number {
    const t = this.tree;
    if (t.frame[parent] === this.ids.get(TRUNCATED)) return parent; // below the cut, everything is summed there
    let key = parent * FRAME_BITS + frame;
    let node = this.children.get(key);
    if (node !== undefined) return node;
    if (t.frame.length >= MAX_TREE_NODES || this.depth[parent]! >= MAX_TREE_DEPTH) {
      frame = this.own(TRUNCATED);
      key = parent * FRAME_BITS + frame;
      node = this.children.get(key);
      if (node !== undefined) return node;
    }
    node = t.frame.push(frame) - 1;
    t.parent.push(parent);
    t.self.push(0);
    this.depth.push(this.depth[parent]! + 1);
    this.children.set(key, node);
    return node;
  }
}
