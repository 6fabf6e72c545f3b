// What a benchmark is made of. A measurement has one or more rows (what the
// table and bench-results.json show) and contenders: Gleaner itself and the
// peers measured the same way, side by side, in the same run on the same
// database server.
import type { BenchServer } from './server.js';

export interface RowSpec {
  /** Name in the table and in bench-results.json (accept, lifecycle, pickup_p50, …). */
  name: string;
  unit: string;
  /** Which direction is better, for the table's "vs peers" column. */
  better: 'higher' | 'lower';
  /** The target, as text for the table. */
  target?: string;
  /** Checks a median against the target (some targets are relative to a peer's median). */
  meets?: (median: number, peers: Record<string, number>) => boolean;
  /** A row no contender reports: Gleaner's value per run, derived from the other rows (e.g. a ratio to a peer in the same run). */
  derive?: (rows: Map<string, Map<string, number[]>>) => number[];
}

export interface RunContext {
  server: BenchServer;
  quick: boolean;
  /** Which of the three runs this is (1-based). */
  run: number;
  log(message: string): void;
  /** With --cpu-prof DIR: the API child writes a V8 CPU profile there (node --cpu-prof). */
  cpuProfDir?: string;
  /** With --service-env K=V (repeatable): extra settings for the service the pipeline measurement starts (e.g. EMBEDDING_DTYPE=q8). */
  serviceEnv?: Record<string, string>;
  /** With --modes: which of the lifecycle's two ways to run (submit while draining: accept; drain a backlog: drain); both by default. */
  modes?: ('accept' | 'drain')[];
}

/** Values for some of the measurement's rows (row name → value), plus notes worth printing. */
export interface RunResult {
  values: Record<string, number>;
  notes?: string[];
}

export interface Contender {
  /** 'gleaner' for ours; a peer's label otherwise. */
  name: string;
  run(ctx: RunContext): Promise<RunResult>;
}

export interface Measurement {
  name: string;
  /** One line on what is measured and how, printed above the table. */
  how: (quick: boolean) => string;
  rows: RowSpec[];
  gleaner: Contender;
  peers: Contender[];
  /** Set while the measurement cannot run yet (the rows are then left out of the table). */
  pending?: string;
}

export const GLEANER = 'gleaner';

/** The lifecycle's ways to run in this run (--modes), in their usual order. */
export const lifecycleModes = (ctx: RunContext): ('accept' | 'drain')[] => (['accept', 'drain'] as const).filter((m) => !ctx.modes || ctx.modes.includes(m));
