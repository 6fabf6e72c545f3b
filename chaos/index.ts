// Every chaos scenario, in the order `npm run chaos` runs them.
import { abuse } from './abuse.js';
import { fuzzApiScenario } from './fuzzApi.js';
import { hostilePages } from './hostilePages.js';
import { postgresOutage } from './postgresOutage.js';
import { receiverDown } from './receiverDown.js';
import { ssrfMatrix } from './ssrfMatrix.js';
import type { Scenario } from './types.js';
import { workerKill } from './workerKill.js';

export const scenarios: Scenario[] = [workerKill, postgresOutage, fuzzApiScenario, abuse, receiverDown, hostilePages, ssrfMatrix];
