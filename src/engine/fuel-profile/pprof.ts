/**
 * A fuel profile as a pprof profile.proto (github.com/google/pprof/blob/main/proto/profile.proto),
 * encoded by pprof-format: one sample type, fuel (count), and one sample per call-tree node with fuel
 * of its own. Uncompressed: gzip's bytes depend on the zlib build, and the answer is promised
 * byte-identical on every Node version; pprof reads both. No timestamps, for the same reason.
 */
import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Line, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { ProfileData } from './types.js';

export function toPprof(data: ProfileData): Uint8Array {
  // strings are numbered in the order first seen: the order below is fixed, so are the bytes
  const strings = new StringTable();
  const fuel = () => new ValueType({ type: strings.dedup('fuel'), unit: strings.dedup('count') });
  const sampleType = [fuel()];
  const periodType = fuel();

  // one function and one location per frame; ids start at 1 (0 means "none" in profile.proto)
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  data.frames.forEach((f, i) => {
    const id = i + 1;
    functions.push(
      new PprofFunction({
        id,
        name: strings.dedup(f.label),
        systemName: strings.dedup(f.name ?? f.label),
        filename: strings.dedup(f.module ?? 'host'),
      }),
    );
    locations.push(new Location({ id, line: [new Line({ functionId: id })] }));
  });

  const { frame, parent, self } = data.tree;
  const samples: Sample[] = [];
  for (let node = 0; node < self.length; node++) {
    if (!(self[node] > 0)) continue;
    // pprof lists a stack leaf first; the root (no frame) adds nothing, so its own fuel, if any,
    // would be a sample without locations
    const locationId: number[] = [];
    for (let n = node; n > 0; n = parent[n]) locationId.push(frame[n] + 1);
    samples.push(new Sample({ locationId, value: [self[node]] }));
  }

  return new Profile({
    sampleType,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    periodType,
    period: 1,
    timeNanos: 0,
    durationNanos: 0,
  }).encode();
}

/** The gzipped form `go tool pprof` and the CLI's `.pb.gz` files use; not for answers (see above). */
export function pprofGzip(bytes: Uint8Array): Buffer {
  return gzipSync(bytes);
}
