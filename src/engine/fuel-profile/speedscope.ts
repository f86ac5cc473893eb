/**
 * A fuel profile as a speedscope file (https://www.speedscope.app/file-format-schema.json): one
 * "sampled" profile whose samples are the call tree's nodes with fuel of their own, weighted by it.
 * Speedscope has no fuel unit, so the unit is "none" and the profile's name (the caller's) says fuel.
 */
import type { ProfileData } from './types.js';

export const SPEEDSCOPE_SCHEMA = 'https://www.speedscope.app/file-format-schema.json';

export interface SpeedscopeFrame {
  name: string;
  /** The module of a wasm frame ("contract" / "library"); absent for host frames. */
  file?: string;
}

export interface SpeedscopeSampledProfile {
  type: 'sampled';
  name: string;
  unit: 'none';
  startValue: number;
  endValue: number;
  /** Each a stack of indices into `shared.frames`, root first. */
  samples: number[][];
  /** The fuel of each sample. */
  weights: number[];
}

export interface SpeedscopeFile {
  $schema: typeof SPEEDSCOPE_SCHEMA;
  shared: { frames: SpeedscopeFrame[] };
  profiles: SpeedscopeSampledProfile[];
  name: string;
  activeProfileIndex: number;
  exporter: string;
}

export function toSpeedscope(data: ProfileData, name: string): SpeedscopeFile {
  const { frame, parent, self } = data.tree;
  // the stacks in profile-frame indices first: only the frames that appear in a sample are listed
  const stacks: number[][] = [];
  const weights: number[] = [];
  const used = new Array<boolean>(data.frames.length).fill(false);
  for (let node = 0; node < self.length; node++) {
    if (!(self[node] > 0)) continue;
    const stack: number[] = [];
    // the root (frame -1) is no frame: fuel charged to it (if ever) is a sample with an empty stack
    for (let n = node; n > 0; n = parent[n]) stack.push(frame[n]);
    stack.reverse();
    for (const f of stack) used[f] = true;
    stacks.push(stack);
    weights.push(self[node]);
  }
  // the used frames keep their order (the profile's), so the file is the same on every run
  const index = new Array<number>(data.frames.length).fill(-1);
  const frames: SpeedscopeFrame[] = [];
  data.frames.forEach((f, i) => {
    if (!used[i]) return;
    index[i] = frames.length;
    frames.push(f.kind === 'wasm' && f.module !== null ? { name: f.label, file: f.module } : { name: f.label });
  });
  return {
    $schema: SPEEDSCOPE_SCHEMA,
    shared: { frames },
    profiles: [
      {
        type: 'sampled',
        name,
        unit: 'none',
        startValue: 0,
        endValue: data.total,
        samples: stacks.map((s) => s.map((f) => index[f])),
        weights,
      },
    ],
    name,
    activeProfileIndex: 0,
    exporter: 'wasm-contract-runner',
  };
}
