import { runGroup } from '../support/group.js';

await runGroup('hostile');
