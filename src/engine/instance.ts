/** Instances of prepared modules: instantiation, the deferred start function, memory 0. */
import { linkError } from './errors.js';
import { HOOK_EXPORTS } from '../wasm/meter-abi.js';

/** Instantiation; an import the static checks let through but the engine refuses is a link error. */
export function instantiate(module: WebAssembly.Module, imports: WebAssembly.Imports): WebAssembly.Instance {
  try {
    return new WebAssembly.Instance(module, imports);
  } catch (e) {
    if (e instanceof WebAssembly.LinkError) throw linkError(e.message.replace(/^WebAssembly\.Instance\(\): /, ''));
    throw e;
  }
}

/** Start functions run right after instantiation (deferred by the instrumenter so host calls see the instance). */
export function runStart(i: WebAssembly.Instance): void {
  const start = i.exports[HOOK_EXPORTS.start];
  if (typeof start === 'function') start();
}

/** A module's memory 0, as the instrumenter exports it (a memory it imports included). */
export function memoryOf(i: WebAssembly.Instance | undefined): WebAssembly.Memory | undefined {
  const m = i?.exports[HOOK_EXPORTS.memory];
  return m instanceof WebAssembly.Memory ? m : undefined;
}
