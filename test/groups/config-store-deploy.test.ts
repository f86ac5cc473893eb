import { runGroup } from '../support/group.js';

await runGroup('config-store-deploy');
