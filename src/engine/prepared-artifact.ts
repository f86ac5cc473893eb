/**
 * A prepared module as bytes to keep (store/artifact-store.ts): the instrumented module and what the
 * engine needs besides the compiled code, so that a restart compiles the artifact instead of
 * validating, checking and instrumenting the original again.
 *
 * Layout: "WCRA" | u32 LE header length | header (JSON) | instrumented bytes. The header names what the
 * artifact was made for (module hash, instrumentation key, policy); `decodeArtifact` refuses one made
 * for anything else, so a new instrumenter version, other settings or another policy prepare afresh.
 */
import { createHash } from 'node:crypto';
import type { Policy } from '../wasm/policy.js';
import type { ModuleInfo, PreparedModule, Variant } from './prepare.js';

const MAGIC = [0x57, 0x43, 0x52, 0x41]; // "WCRA"
const FORMAT = 1;

interface Header {
  format: number;
  hash: string;
  settingsKey: string;
  policyKey: string;
  variant: Variant;
  localFuel: boolean;
  name: string;
  importedFuncs: number;
  memoryImport: PreparedModule['memoryImport'];
  bodyStarts: number[];
  info: ModuleInfo;
}

/** What an artifact must have been made for to be used. */
export interface ArtifactExpectation {
  hash: string;
  settingsKey: string;
  policyKey: string;
}

/** A short fingerprint of the policy a module was checked against (key order does not matter). */
export function policyKey(policy: Policy): string {
  const canonical = Object.keys(policy)
    .sort()
    .map((k) => [k, (policy as unknown as Record<string, unknown>)[k]]);
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}

export function encodeArtifact(p: PreparedModule, instrumented: Uint8Array, policy: string): Uint8Array {
  const header: Header = {
    format: FORMAT,
    hash: p.info.hash,
    settingsKey: p.settingsKey,
    policyKey: policy,
    variant: p.variant,
    localFuel: p.localFuel,
    name: p.name,
    importedFuncs: p.importedFuncs,
    memoryImport: p.memoryImport,
    bodyStarts: Array.from(p.bodyStarts),
    info: p.info,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + instrumented.length);
  out.set(MAGIC, 0);
  new DataView(out.buffer).setUint32(4, json.length, true);
  out.set(json, 8);
  out.set(instrumented, 8 + json.length);
  return out;
}

/**
 * The prepared module an artifact describes, compiled, with `original` (the module's verified
 * bytes) as its original; null when the artifact was made for something else or does not compile.
 */
export function decodeArtifact(bytes: Uint8Array, original: Uint8Array, settings: PreparedModule['settings'], expect: ArtifactExpectation): PreparedModule | null {
  if (bytes.length < 8 || MAGIC.some((b, i) => bytes[i] !== b)) return null;
  const len = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(4, true);
  if (8 + len > bytes.length) return null;
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + len))) as Header;
  } catch {
    return null;
  }
  if (h.format !== FORMAT || h.hash !== expect.hash || h.settingsKey !== expect.settingsKey || h.policyKey !== expect.policyKey) return null;
  if (h.info?.hash !== expect.hash || h.info.bytes !== original.length) return null;
  let compiled: WebAssembly.Module;
  try {
    compiled = new WebAssembly.Module(bytes.subarray(8 + len) as BufferSource);
  } catch {
    return null;
  }
  return {
    info: h.info,
    original,
    compiled,
    name: h.name,
    bodyStarts: Uint32Array.from(h.bodyStarts),
    importedFuncs: h.importedFuncs,
    settings,
    settingsKey: h.settingsKey,
    localFuel: h.localFuel,
    variant: h.variant,
    memoryImport: h.memoryImport,
  };
}
