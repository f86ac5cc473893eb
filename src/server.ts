#!/usr/bin/env node
/** Entry: config → app → listen; SIGTERM/SIGINT stop accepting, answer in-flight requests, close the pool. */
import { ConfigError, loadConfig } from './config.js';
import { checkMemoryBudget } from './memory-budget.js';
import { installShutdown } from './process/shutdown.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
    checkMemoryBudget(config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw e;
  }
  // the app (Fastify, its plugins, the pool) is loaded once the config is known good: a refused start
  // answers without loading it
  const { buildApp } = await import('./app.js');
  const app = await buildApp(config);
  installShutdown({
    delayMs: Math.max(10_000, config.limits.max.timeoutMs + 5_000),
    close: () => app.close(),
    log: app.log,
  });
  await app.listen({ host: config.host, port: config.port });
}

main().catch((e: unknown) => {
  process.stderr.write(`failed to start: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
