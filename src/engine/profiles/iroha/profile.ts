/**
 * The Iroha profile (docs/IROHA.md), selected by a request's `iroha` object: one module importing
 * `iroha` (abi.ts), checked by plan.ts, its entrypoint given the context length-prefixed in guest
 * memory, an executor's verdict read back (verdict.ts); queries and instructions answered from the
 * request or by the peer (peer.ts), whose answers a run repeated for exact fuel replays.
 */
import type { Checked, ExecuteInput } from '../../execution-types.js';
import type { HostProfile, ProfileRun, RunContext } from '../profile.js';
import { type Guest, IROHA_ALLOC, IROHA_DEALLOC, IROHA_MODULE, IrohaState, type PeerLink, irohaImports, writeToGuest } from './abi.js';
import { explainTrap } from './hints.js';
import { HttpPeer, type PeerConfig, ReplayPeer } from './peer.js';
import { type IrohaPlan, planIroha } from './plan.js';
import { type VerdictReport, readVerdict } from './verdict.js';

/** The `iroha` part of a response: what the module asked of the peer, and what it answered. */
export interface IrohaReport {
  instructions: string[];
  queries: string[];
  dataModel: string | null;
  verdict: VerdictReport;
}

export const DEFAULT_PEER_CONFIG: PeerConfig = { callbackTimeoutMs: 1000, maxCallbackResponseBytes: 4 * 1024 * 1024 };

export const irohaProfile: HostProfile<IrohaPlan> = {
  name: 'Iroha',
  selects: (input) => !!input.iroha,
  foreignImport: { module: IROHA_MODULE, hint: 'an Iroha module runs with the Iroha profile: give the request an `iroha` object (its context)' },
  check,
  start,
  timeoutReport: () => ({ iroha: { instructions: [], queries: [], dataModel: null, verdict: null } }),
};

function check(input: ExecuteInput): Checked<IrohaPlan> {
  const plan = planIroha(input.contract.info, { entrypoint: input.entrypoint, args: input.args, library: !!input.library, link: !!input.link });
  const entryType = input.contract.info.exports.find((e) => e.name === plan.entry)!.type!;
  return { entry: plan.entry, entryType, bridge: { namespace: 'lib', wires: [] }, shared: null, namespace: 'lib', plan };
}

function start({ input, checked, config, host, deadline, replay }: RunContext<IrohaPlan>): ProfileRun {
  const request = input.iroha!;
  // the peer, or the first run's answers when the run is repeated
  let peer: PeerLink | null = null;
  if (request.callback) {
    peer = replay ? new ReplayPeer(replay as Uint8Array[]) : new HttpPeer(request.callback, config.iroha ?? DEFAULT_PEER_CONFIG, deadline);
  }
  const state = new IrohaState(request, checked.plan.entry, peer);
  let verdict: VerdictReport = null;
  let entered = false;
  return {
    imports: (instance) => ({ [IROHA_MODULE]: irohaImports(state, host, () => guestOf(instance()!)) }),
    call: (entry, instance) => {
      // Iroha's convention: the context length-prefixed in the guest's memory, a verdict likewise back
      const guest = guestOf(instance);
      const ptr = writeToGuest(guest, request.context, 'the context');
      entered = true;
      const raw = entry(ptr);
      if (checked.plan.returnsVerdict) verdict = readVerdict(guest, raw as number, host);
      return [];
    },
    explain: (outcome, error) => explainTrap(outcome, error, state, entered),
    report: () => ({ iroha: report(state, verdict) }),
    replay: () => (peer instanceof HttpPeer ? peer.answers : undefined),
  };
}

const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.length).toString('base64');

function report(s: IrohaState, verdict: VerdictReport): IrohaReport {
  return { instructions: s.instructions.map(b64), queries: s.queries.map(b64), dataModel: s.dataModel ? b64(s.dataModel) : null, verdict };
}

function guestOf(i: WebAssembly.Instance): Guest {
  const e = i.exports;
  return {
    memory: e.memory as WebAssembly.Memory,
    alloc: e[IROHA_ALLOC] as Guest['alloc'],
    dealloc: e[IROHA_DEALLOC] as Guest['dealloc'],
  };
}
