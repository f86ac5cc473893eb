import { runGroup } from '../support/group.js';

await runGroup('e2e-hostile');
