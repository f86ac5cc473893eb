/**
 * Function names as their authors wrote them: Rust (legacy and v0) and C++ (Itanium) symbols from name
 * sections, demangled by gecko-profiler-demangle (the Firefox Profiler's build of the Rust project's
 * rustc-demangle and of cpp_demangle, one wasm module; the version is pinned, its glue is loaded here).
 *
 * Bounded, since a module chooses its names: a name is demangled only when it looks mangled, is at
 * most MAX_INPUT characters and has at most MAX_BACKREFS back-references (a crafted C++ or v0 name
 * built on them expands to megabytes, ~0.1 s each); a result over MAX_OUTPUT characters is not used.
 * A name that is not demangled is given as written. Deterministic: the same name, the same answer.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

export const MAX_INPUT = 1024;
export const MAX_BACKREFS = 32;
export const MAX_OUTPUT = 2048;

interface Glue {
  __wbg_set_wasm(exports: WebAssembly.Exports): void;
  demangle_any(name: string): string;
}

const dir = dirname(createRequire(import.meta.url).resolve('gecko-profiler-demangle/package.json'));
// the package imports its .wasm as an ES module, which Node 20 does not without a flag: the glue is
// imported here, the wasm instantiated on first use
const glue = (await import(pathToFileURL(join(dir, 'index_bg.js')).href)) as Glue;
let compiled: WebAssembly.Module | null = null;
let live = false;

function start(): void {
  compiled ??= new WebAssembly.Module(readFileSync(join(dir, 'index_bg.wasm')));
  const instance = new WebAssembly.Instance(compiled, { './index_bg.js': glue as unknown as WebAssembly.ModuleImports });
  glue.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as (() => void) | undefined)?.();
  live = true;
}

const CACHE = 4096;
const cache = new Map<string, string>();

/** Itanium (`_Z`, `__Z` on some targets) and Rust v0 (`_R`); Rust legacy names are Itanium-shaped. */
const MANGLED = /^_{1,2}[ZR][0-9A-Za-z_$.]/;
/** Back-references: Itanium substitutions and template parameters (`S_`, `S1A_`, `T_`), v0's `B…_`. */
const BACKREF = /[STB][0-9A-Za-z]{0,8}_/g;

export function demangle(name: string): string {
  const hit = cache.get(name);
  if (hit !== undefined) return hit;
  const out = compute(name);
  if (cache.size >= CACHE) cache.delete(cache.keys().next().value!);
  cache.set(name, out);
  return out;
}

function compute(name: string): string {
  if (name.length > MAX_INPUT || !MANGLED.test(name)) return name;
  if ((name.match(BACKREF)?.length ?? 0) > MAX_BACKREFS) return name;
  let out: string;
  try {
    if (!live) start();
    out = glue.demangle_any(name);
  } catch {
    live = false; // a trap leaves the instance in an unknown state: a fresh one for the next name
    return name;
  }
  // not demangled: returned as given, or (for a name it could not read) without its first character
  if (out === name || out === name.slice(1) || out.length > MAX_OUTPUT || /\{(invalid syntax|size limit reached|recursion limit reached)\}/.test(out)) return name;
  return out;
}
