/**
 * `run --profile FILE`: the fuel profile's format chosen by the file's name (docs/PROFILING.md), and the
 * file written. A `.pb.gz` file is pprof gzipped, as `go tool pprof` and Pyroscope expect files to be
 * (the API answers the protobuf uncompressed: gzip's bytes depend on the zlib version).
 */
import { badRequest } from '../engine/errors.js';
import type { FuelProfileReport } from '../engine/fuel-profile/report.js';
import { pprofGzip } from '../engine/fuel-profile/pprof.js';
import type { ProfileFormat } from '../engine/fuel-profile/types.js';
import { writeBytes } from './files.js';

export interface ProfileTarget {
  path: string;
  format: ProfileFormat;
  gzip: boolean;
}

const SUFFIXES: Array<[string, ProfileFormat, boolean]> = [
  ['.speedscope.json', 'speedscope', false],
  ['.folded', 'collapsed', false],
  ['.collapsed', 'collapsed', false],
  ['.pb.gz', 'pprof', true],
  ['.pb', 'pprof', false],
  ['.json', 'json', false],
];

export function profileTarget(path: string): ProfileTarget {
  const hit = SUFFIXES.find(([suffix]) => path.toLowerCase().endsWith(suffix));
  if (!hit) throw badRequest(`--profile ${path}: the file name says the format: .speedscope.json (speedscope), .folded (collapsed stacks), .pb.gz (pprof), .json (the profile object)`);
  return { path, format: hit[1], gzip: hit[2] };
}

/** Writes the profile's file; answers the profile as the printed body carries it (without the file's data). */
export function writeProfile(target: ProfileTarget, profile: FuelProfileReport): FuelProfileReport {
  const { data, format: _format, ...summary } = profile;
  let bytes: Uint8Array;
  if (target.format === 'json') bytes = new TextEncoder().encode(`${JSON.stringify(summary, null, 2)}\n`);
  else if (target.format === 'pprof') {
    const raw = new Uint8Array(Buffer.from(data as string, 'base64'));
    bytes = target.gzip ? pprofGzip(raw) : raw;
  } else bytes = new TextEncoder().encode(typeof data === 'string' ? data : JSON.stringify(data));
  writeBytes(target.path, bytes, '--profile');
  return summary;
}
