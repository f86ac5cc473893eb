/** The OpenAPI document as @fastify/swagger derives it from the routes' schemas. */
import { loadConfig } from '../config.js';

export async function generateOpenApi(): Promise<string> {
  const { buildApp } = await import('../app.js');
  const app = await buildApp(loadConfig({}, { seedExamples: false, workers: 1, store: { dir: null } }), { logger: false });
  try {
    await app.ready();
    return app.swagger({ yaml: true });
  } finally {
    await app.close();
  }
}
