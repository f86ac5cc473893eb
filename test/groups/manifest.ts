/**
 * The test groups: `npm test` runs each group's files in one process (test/groups/<name>.test.ts,
 * test/support/group.ts), in the order listed. A new test file goes into the group of its directory (or
 * a new group with its entry file); test/test-groups.test.ts fails while a file is in none. Groups are
 * kept to 11-35 CPU-s (scripts/test-cpu.sh) and the small ones sort last, so that tap's jobs end together.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project's root: the manifest's paths are relative to it. */
export const TEST_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const GROUPS: Record<string, string[]> = {
  wasm: [
    'test/wasm/roundtrip.test.ts',
    'test/wasm/format.test.ts',
    'test/wasm/frame-cost.test.ts',
    'test/wasm/fuel.test.ts',
    'test/wasm/wasmtime-fuel.test.ts',
    'test/wasm/trap-blocks.test.ts',
    'test/wasm/nan-canon-wasmtime.test.ts',
    'test/wasm/nan-canon.test.ts',
    'test/wasm/meter-sync.test.ts',
    'test/wasm/instrument.test.ts',
    'test/wasm/policy.test.ts',
    'test/wasm/standalone.test.ts',
  ],
  differentials: [
    'test/wasm/wasmtime-differential.test.ts',
    'test/fuzz/regressions.test.ts',
    // these two run V8 in Liftoff only (a process-wide flag) under npm test: last in their group
    'test/fuzz/differential.test.ts',
    'test/wasm/spec-differential.test.ts',
  ],
  engine: [
    'test/engine/bridge.test.ts',
    'test/engine/determinism.test.ts',
    'test/engine/demangle.test.ts',
    'test/engine/fuel-profile-formats.test.ts',
    'test/engine/examples.test.ts',
    'test/engine/frames.test.ts',
    'test/engine/frames-dwarf.test.ts',
    'test/engine/ffi.test.ts',
    'test/engine/limits.test.ts',
    'test/engine/link-errors.test.ts',
    'test/engine/memory-reuse.test.ts',
    'test/engine/modes.test.ts',
    'test/engine/outcomes.test.ts',
    'test/engine/shared.test.ts',
    'test/engine/stack-tiers.test.ts',
    'test/engine/trap-site.test.ts',
    'test/engine/variant-limits.test.ts',
    'test/engine/iroha.test.ts',
    'test/engine/iroha-limits.test.ts',
    'test/engine/iroha-parity.test.ts',
    'test/engine/iroha-scale.test.ts',
    'test/engine/profiles.test.ts',
    'test/engine/host-abi.test.ts',
  ],
  units: [
    'test/test-groups.test.ts',
    'test/config.test.ts',
    'test/config-floats.test.ts',
    'test/callback/origins.test.ts',
    'test/store/artifact-store.test.ts',
    'test/store/module-list.test.ts',
    'test/store/module-store.test.ts',
    'test/store/prepared-cache.test.ts',
    'test/store/tiered-store.test.ts',
    'test/docs/doc-blocks.test.ts',
    'test/deploy/k8s.test.ts',
  ],
  cli: [
    'test/cli/args.test.ts',
    'test/cli/cli.test.ts',
    'test/cli/instrument.test.ts',
    'test/cli/iroha-encode.test.ts',
    'test/cli/iroha-examples.test.ts',
    'test/cli/paths.test.ts',
    'test/cli/run.test.ts',
    'test/cli/snapshot.test.ts',
  ],
  'http-execute': [
    'test/http/execute.test.ts',
    'test/http/floats.test.ts',
    'test/http/input-errors.test.ts',
    'test/http/http-errors.test.ts',
    'test/http/auth.test.ts',
    'test/http/openapi.test.ts',
  ],
  'http-batch': [
    'test/http/batch.test.ts',
    'test/http/batch-budget.test.ts',
    'test/http/batch-iroha.test.ts',
    'test/http/batch-lookups.test.ts',
    'test/http/iroha.test.ts',
    'test/http/shared.test.ts',
  ],
  'http-store': [
    'test/http/modules.test.ts',
    'test/http/module-list.test.ts',
    'test/http/prepared-artifacts.test.ts',
    'test/http/shared-store.test.ts',
    'test/http/store-agreement.test.ts',
    'test/http/store-faults.test.ts',
  ],
  'http-ops': [
    'test/http/ops.test.ts',
    'test/http/metrics-counters.test.ts',
    'test/http/faults.test.ts',
    'test/http/faults-queue.test.ts',
    'test/http/pressure.test.ts',
  ],
  hostile: [
    'test/hostile/modules.test.ts',
    'test/hostile/linking.test.ts',
    'test/hostile/random-requests.test.ts',
    'test/hostile/requests.test.ts',
    'test/hostile/callbacks.test.ts',
  ],
  'e2e-server': [
    'test/e2e/server.test.ts',
    'test/e2e/http-statuses.test.ts',
    'test/e2e/config.test.ts',
    'test/e2e/overload.test.ts',
  ],
  'e2e-store': [
    'test/e2e/shared-store.test.ts',
    'test/e2e/batch-memory.test.ts',
    'test/e2e/soak.test.ts',
  ],
  'e2e-hostile': [
    'test/e2e/hostile-process.test.ts',
    'test/e2e/http-limits.test.ts',
    'test/e2e/swagger-browser.test.ts',
  ],
  process: [
    'test/process/npm-start.test.ts',
    'test/process/shutdown.test.ts',
    'test/callback/sync-post.test.ts',
    'test/docs/commands.test.ts',
  ],
};
