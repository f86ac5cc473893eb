/**
 * The data of one fuel profile (docs/PROFILING.md), as the profiler (session.ts) leaves it and the
 * formats (json.ts, speedscope.ts, collapsed.ts, pprof.ts) read it: the frames seen, and the calling-
 * context tree with the fuel charged in each node's own code. Plain data: it crosses from a worker.
 */

/** A frame of the profile: a wasm function of one of the modules, or a host import (or bridge copy). */
export interface ProfileFrame {
  kind: 'wasm' | 'host';
  /** The function's module (wasm), the importing module (host), or null (the profiler's own rows). */
  module: 'contract' | 'library' | null;
  /** The function's index in the original module (wasm), the import's function index (host), or null. */
  index: number | null;
  /** Demangled name from the module's name section, or null. */
  name: string | null;
  /** What a flame graph shows: `contract:kv::insert_lines`, `library:12`, `kv::lib::sha256 [lib.sha256]`, `host.log`, `(truncated)`. */
  label: string;
}

/**
 * The calling-context tree: node 0 is the root (no frame); every other node is one call path. Nodes are
 * in creation order (a parent before its children), so the tree is the same on every run.
 */
export interface CallTree {
  /** Index into `frames` of each node's frame (-1 for the root). */
  frame: number[];
  /** Each node's parent (-1 for the root). */
  parent: number[];
  /** Fuel charged while the node was the innermost frame. */
  self: number[];
}

export interface ProfileData {
  /** `fuel.consumed`: the sum of `tree.self`. */
  total: number;
  frames: ProfileFrame[];
  tree: CallTree;
}

/** The formats a profile is answered in (`"profile": {"format": …}`). */
export const PROFILE_FORMATS = ['json', 'speedscope', 'collapsed', 'pprof'] as const;
export type ProfileFormat = (typeof PROFILE_FORMATS)[number];
