/**
 * The summary of a module that GET /modules lists: its exports (function signatures as text), the
 * modules it imports from, the profile those imply and whether it has an `ffi` section. Made once when
 * the store first holds the module and kept in its record (store/module-index.ts), so a listing reads
 * no module bytes.
 */
import type { Describer } from '../store/module-store.js';
import { formatFuncType, funcTypeOf } from '../wasm/module.js';
import { readModule } from '../wasm/reader.js';

export interface ModuleSummary {
  exports: Array<{ name: string; kind: string; type?: string }>;
  /** Distinct module names of its imports, in order of first use (e.g. ["host", "lib"]). */
  importModules: string[];
  /** `iroha` when it imports `iroha`, `host` when it imports `host`, else null (no host ABI). */
  profile: 'iroha' | 'host' | null;
  /** Whether it has an `ffi` custom section (docs/ABI.md). */
  ffi: boolean;
}

export function summarize(bytes: Uint8Array): ModuleSummary {
  const m = readModule(bytes);
  const importModules = [...new Set(m.imports.map((i) => i.module))];
  return {
    exports: m.exports.map((e) => {
      const type = e.kind === 'func' ? funcTypeOf(m, e.index) : undefined;
      return { name: e.name, kind: e.kind, ...(type ? { type: formatFuncType(type) } : {}) };
    }),
    importModules,
    profile: importModules.includes('iroha') ? 'iroha' : importModules.includes('host') ? 'host' : null,
    ffi: m.customs.some((c) => c.name === 'ffi'),
  };
}

/** The store's describer; a new `version` has every record's summary made again when next listed. */
export const moduleDescriber: Describer = { version: 'summary-1', describe: summarize };

/** A record's summary as the listing shows it (none: unknown, shown empty rather than failing the page). */
export function summaryOf(s: unknown): ModuleSummary {
  const x = (s ?? {}) as Partial<ModuleSummary>;
  return { exports: x.exports ?? [], importModules: x.importModules ?? [], profile: x.profile ?? null, ffi: x.ffi ?? false };
}
