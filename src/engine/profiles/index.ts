/**
 * The host profiles (profile.ts), and the choice of one per request: the first that selects it, in
 * this order (the Iroha profile for a request with an `iroha` object; host ABI v1 otherwise). A
 * profile's own request field, answer field and settings are declared here, so that the engine's
 * shapes (execution-types.ts) carry them without knowing the profile.
 */
import type { Checked, ExecuteInput } from '../execution-types.js';
import { hostProfile } from './host.js';
import type { IrohaInput } from './iroha/abi.js';
import type { PeerConfig } from './iroha/peer.js';
import { type IrohaReport, irohaProfile } from './iroha/profile.js';
import type { ForeignImports, HostProfile } from './profile.js';

/** What a request may carry for a profile. */
export interface ProfileInputs {
  /** The Iroha profile (docs/IROHA.md): the module imports `iroha`, its entrypoint takes this context. */
  iroha?: IrohaInput;
}

/** What a profile adds to the answer. */
export interface ProfileReports {
  iroha?: IrohaReport;
}

/** A profile's settings in the engine's config. */
export interface ProfileConfigs {
  /** The Iroha profile's peer callbacks (defaults: DEFAULT_PEER_CONFIG, iroha/profile.ts). */
  iroha?: PeerConfig;
}

const PROFILES: readonly HostProfile[] = [irohaProfile, hostProfile];

export function profileFor(input: ExecuteInput): HostProfile {
  return PROFILES.find((p) => p.selects(input)) ?? hostProfile;
}

/** For each profile: the import modules of the others. */
const foreign = new Map<HostProfile, ForeignImports>(
  PROFILES.map((p) => [p, new Map(PROFILES.filter((o) => o !== p && o.foreignImport).map((o) => [o.foreignImport!.module, o.foreignImport!.hint]))]),
);

/** The request checked by its profile before anything runs: throws its 4xx RequestError. */
export function checkRequest(input: ExecuteInput): Checked {
  const p = profileFor(input);
  return p.check(input, foreign.get(p)!);
}
