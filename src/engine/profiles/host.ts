/**
 * The host ABI v1 profile (docs/ABI.md): the contract imports `host` (host-abi.ts, the ABI itself), may
 * be linked with a library (bridge or shared mode, linking/), and its entrypoint takes JSON arguments
 * as wasm values and answers its results as JSON (values.ts). The default profile.
 */
import { badRequest, linkError } from '../errors.js';
import { HOST_SIGNATURES, hostImports } from '../host-abi.js';
import { planBridge } from '../linking/bridge.js';
import { planShared } from '../linking/shared.js';
import { memoryOf } from '../instance.js';
import type { ModuleInfo } from '../prepare.js';
import { checkSignatureSupported, fromWasmResults, toWasmArgs } from '../values.js';
import type { Checked, ExecuteInput } from '../execution-types.js';
import { formatFuncType, sameFuncType } from '../../wasm/module.js';
import { METER_MODULE } from '../../wasm/meter-abi.js';
import type { ForeignImports, HostProfile, ProfileRun, RunContext } from './profile.js';

/** The profile's findings: the entrypoint's arguments as wasm values. */
export interface HostPlan {
  args: Array<number | bigint>;
}

export const HOST_MODULE = 'host';

export const hostProfile: HostProfile<HostPlan> = {
  name: 'host ABI v1',
  selects: () => true,
  check,
  start,
  timeoutReport: () => ({}),
};

function check(input: ExecuteInput, foreign: ForeignImports): Checked<HostPlan> {
  const mode = input.link?.mode ?? 'bridge';
  const namespace = input.link?.namespace ?? 'lib';
  if (namespace === HOST_MODULE || namespace === METER_MODULE) throw badRequest(`link namespace \`${namespace}\` is reserved`);
  if (mode === 'shared' && namespace === 'env') throw badRequest('link namespace `env` is reserved in shared mode (the shared memory is `env.memory`)');
  if (input.link?.stacks !== undefined && mode !== 'shared') throw badRequest('link.stacks applies to link mode "shared" only');
  const contract = input.contract.info;
  const library = input.library?.info ?? null;
  checkImports(contract, 'contract', [namespace], mode, foreign);
  if (library) checkImports(library, 'library', [], mode, foreign);
  const shared = mode === 'shared' ? planShared(contract, library, namespace, input.link?.stacks ?? 'two') : null;
  const bridge = mode === 'shared' ? { namespace, wires: [] } : planBridge(contract, library, namespace, input.link?.ffi);

  const entry = input.entrypoint ?? 'main';
  const exp = contract.exports.find((e) => e.name === entry);
  if (!exp || exp.kind !== 'func') {
    const funcs = contract.exports.filter((e) => e.kind === 'func').map((e) => e.name);
    throw badRequest(`the contract exports no function \`${entry}\` (its functions: ${funcs.join(', ') || 'none'})`);
  }
  const entryType = exp.type!;
  checkSignatureSupported(entryType, entry);
  const args = toWasmArgs(entryType, input.args ?? [], entry);
  return { entry, entryType, bridge, shared, namespace, plan: { args } };
}

function checkImports(info: ModuleInfo, role: string, allowed: string[], mode: 'bridge' | 'shared', foreign: ForeignImports): void {
  for (const imp of info.imports) {
    const what = `the ${role} imports \`${imp.module}.${imp.name}\``;
    if (imp.module === HOST_MODULE) {
      const sig = HOST_SIGNATURES[imp.name];
      if (!sig) throw linkError(`${what}, which host ABI v1 does not have (it has ${Object.keys(HOST_SIGNATURES).join(', ')})`);
      if (imp.kind !== 'func' || !sameFuncType(imp.type!, sig)) {
        throw linkError(`${what} as ${imp.type ? formatFuncType(imp.type) : `a ${imp.kind}`}, but it is ${formatFuncType(sig)}`);
      }
      continue;
    }
    if (imp.module === METER_MODULE) throw linkError(`${what}: the module name \`${METER_MODULE}\` is reserved for the meter`);
    const hint = foreign.get(imp.module);
    if (hint !== undefined && !allowed.includes(imp.module)) throw linkError(`${what}: ${hint}`);
    if (allowed.includes(imp.module)) continue;
    if (mode === 'shared' && imp.module === 'env' && (imp.kind === 'memory' || (imp.kind === 'table' && role === 'contract'))) continue;
    if (mode === 'shared' && imp.kind === 'memory') {
      throw linkError(`${what} (a memory): in shared mode the one memory is imported as \`env.memory\``);
    }
    if (imp.kind === 'memory') {
      throw linkError(
        `${what} (a memory): in bridge mode each module has its own memory: use link mode "shared" to run it on the library's memory, or build it with a memory of its own`,
      );
    }
    throw linkError(`${what}: unknown import module \`${imp.module}\` (known: host${allowed.map((a) => `, ${a}`).join('')})`);
  }
}

function start({ checked, host }: RunContext<HostPlan>): ProfileRun {
  return {
    imports: (instance) => ({ [HOST_MODULE]: hostImports(host, () => memoryOf(instance())) }),
    call: (entry) => fromWasmResults(checked.entryType, entry(...checked.plan.args)),
    explain: (outcome) => outcome,
    report: () => ({}),
    replay: () => undefined,
  };
}
