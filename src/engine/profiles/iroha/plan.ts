/**
 * The Iroha profile's checks before anything runs (docs/IROHA.md): one module, no `args` nor `link`,
 * Iroha's own imports only, the exports Iroha's host requires, and an entrypoint that takes a
 * context pointer (the one `_iroha_*_main` export when the request names none).
 */
import { badRequest, linkError } from '../../errors.js';
import type { ModuleInfo } from '../../prepare.js';
import { type FuncType, formatFuncType, sameFuncType } from '../../../wasm/module.js';
import { I32, IROHA_ALLOC, IROHA_DEALLOC, IROHA_MODULE, IROHA_SIGNATURES } from './abi.js';

/** What the checks found: the entrypoint and whether it returns an executor verdict. */
export interface IrohaPlan {
  entry: string;
  returnsVerdict: boolean;
}

const ENTRY_MAIN = /^_iroha_\w*_main$/;

/**
 * Checks a module and a request for the Iroha profile before anything runs: its imports are Iroha's
 * own, it exports what Iroha's host requires, and the entrypoint takes a context pointer.
 */
export function planIroha(info: ModuleInfo, o: { entrypoint?: string; args?: unknown[]; library: boolean; link: boolean }): IrohaPlan {
  if (o.library) throw badRequest('the Iroha profile runs one module, as an Iroha peer does: give no library');
  if (o.link) throw badRequest('`link` does not apply to the Iroha profile (one module, no library)');
  if (o.args && o.args.length > 0) throw badRequest('an Iroha entrypoint takes its argument from `iroha.context`, not from `args`');
  for (const imp of info.imports) {
    const what = `the module imports \`${imp.module}.${imp.name}\``;
    if (imp.module !== IROHA_MODULE) {
      throw linkError(`${what}, but the Iroha profile provides only \`${IROHA_MODULE}\` imports (${Object.keys(IROHA_SIGNATURES).join(', ')})`);
    }
    const sig = IROHA_SIGNATURES[imp.name];
    if (!sig) throw linkError(`${what}, which Iroha's host does not have (it has ${Object.keys(IROHA_SIGNATURES).join(', ')})`);
    if (imp.kind !== 'func' || !sameFuncType(imp.type!, sig)) {
      throw linkError(`${what} as ${imp.type ? formatFuncType(imp.type) : `a ${imp.kind}`}, but it is ${formatFuncType(sig)}`);
    }
  }
  const exported = (name: string, sig: FuncType | null) => {
    const e = info.exports.find((x) => x.name === name);
    const ok = e && (sig === null ? e.kind === 'memory' : e.kind === 'func' && sameFuncType(e.type!, sig));
    if (!ok) {
      throw linkError(`Iroha's host requires the module to export \`${name}\`${sig ? ` ${formatFuncType(sig)}` : ' (its memory)'}${e ? `, but it is ${e.type ? formatFuncType(e.type) : `a ${e.kind}`}` : ''}`);
    }
  };
  exported('memory', null);
  exported(IROHA_ALLOC, { params: [I32], results: [I32] });
  exported(IROHA_DEALLOC, { params: [I32, I32], results: [] });
  const entries = info.exports.filter((e) => e.kind === 'func' && e.name.startsWith('_iroha_') && e.name !== IROHA_ALLOC && e.name !== IROHA_DEALLOC);
  let entry = o.entrypoint;
  if (entry === undefined) {
    const mains = entries.filter((e) => ENTRY_MAIN.test(e.name));
    if (mains.length !== 1) {
      throw badRequest(
        `give the entrypoint: the module exports ${mains.length === 0 ? 'no' : mains.length} \`_iroha_*_main\` function(s) (its entrypoints: ${entries.map((e) => e.name).join(', ') || 'none'})`,
      );
    }
    entry = mains[0]!.name;
  }
  const exp = info.exports.find((e) => e.name === entry && e.kind === 'func');
  if (!exp) throw badRequest(`the module exports no function \`${entry}\` (its entrypoints: ${entries.map((e) => e.name).join(', ') || 'none'})`);
  const t = exp.type!;
  const takesPointer = t.params.length === 1 && t.params[0] === I32;
  if (!takesPointer || t.results.length > 1 || (t.results.length === 1 && t.results[0] !== I32)) {
    throw linkError(`an Iroha entrypoint is (i32) -> () or (i32) -> (i32) (a context pointer in, a verdict pointer out), but \`${entry}\` is ${formatFuncType(t)}`);
  }
  return { entry, returnsVerdict: t.results.length === 1 };
}
