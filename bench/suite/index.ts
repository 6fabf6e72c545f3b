// Every measurement of `npm run bench`, in the order they run.
import { accept } from './accept.js';
import { lifecycle } from './lifecycle.js';
import { pickup } from './pickup.js';
import { pipeline } from './pipeline.js';
import type { Measurement } from './types.js';

export const measurements: Measurement[] = [accept, lifecycle, pickup, pipeline];
