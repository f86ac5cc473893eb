/**
 * V8's structured call sites of an error, and the wasm frames among them that belong to our modules:
 * the module (by the name the instrumenter wrote, `m<hash>[s]`) and the byte offset in that module's
 * instrumented bytes. Read from the call sites, never from the formatted stack text: that text holds
 * function names from the module's name section, which a module chooses (a name containing a fake
 * `wasm-function[i]:0x…` must not move a refund or a reported frame).
 */

export interface WasmSite {
  module: string;
  offset: number;
}

/** The script URL V8 gives a wasm frame: `wasm://wasm/<module name>-<hash>`; our names are `m` + 16 hex (+ `s` shared, + `p` profiled). */
const WASM_SCRIPT = /^wasm:\/\/wasm\/(m[0-9a-f]{16}s?p?)-[0-9a-f]+$/;

/** The call sites V8 captured when `e` was thrown (as many as `Error.stackTraceLimit` allowed then). */
export function callSites(e: unknown): NodeJS.CallSite[] {
  if (!(e instanceof Error)) return [];
  const prev = Error.prepareStackTrace;
  let sites: unknown;
  // the frames were captured when the error was thrown; `stack` is formatted (here, into the call
  // sites themselves) the first time it is read
  Error.prepareStackTrace = (_err, callSites) => callSites;
  try {
    sites = (e as { stack?: unknown }).stack;
  } finally {
    Error.prepareStackTrace = prev;
  }
  return Array.isArray(sites) ? (sites as NodeJS.CallSite[]) : [];
}

/** The module and offset of a call site in one of our modules, or null (JavaScript, another module). */
export function wasmSite(site: NodeJS.CallSite): WasmSite | null {
  const m = WASM_SCRIPT.exec(site.getFileName() ?? '');
  const offset = (site as NodeJS.CallSite & { getPosition?: () => number }).getPosition?.();
  if (!m || typeof offset !== 'number') return null;
  return { module: m[1]!, offset };
}
