// The TypeScript loader of the tests (.taprc `node-arg`): tsx, registered in the main thread only.
// Worker threads inherit the test process's --import flags; on Node 20 tsx registers no hooks in a
// worker anyway, but loading it there (esbuild and its require hook) costs about a second of CPU per
// worker, and every test app starts a pool worker. A worker that runs TypeScript registers tsx itself
// (test/fuzz/lib/harness.ts, test/callback/sync-post.test.ts).
import { isMainThread } from 'node:worker_threads';

if (isMainThread) await import('tsx');
