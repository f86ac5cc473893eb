/**
 * Writes openapi.yaml from the routes' TypeBox schemas (the one source of truth):
 * `npm run openapi`. test/http/openapi.test.ts fails when the committed file differs.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { PROJECT_ROOT } from '../src/config.js';
import { generateOpenApi } from '../src/http/openapi.js';

const yaml = await generateOpenApi();
writeFileSync(resolve(PROJECT_ROOT, 'openapi.yaml'), yaml);
process.stdout.write(`openapi.yaml written (${yaml.length} bytes)\n`);
