// The shape every chaos scenario shares: `npm run chaos` runs them at full
// load and prints a table; spec/chaos.test.ts runs the fast ones reduced.

export interface ScenarioOptions {
  /** A reduced load for `npm test` (each scenario well under ~20 s). */
  reduced: boolean;
  /** Every child process's stdout/stderr is written here (scanned for secrets afterwards). */
  logDir: string;
  /** A PostgreSQL server (any database on it) where scenarios create throwaway databases. */
  pgServerUrl: string;
  /** Progress lines (stderr in `npm run chaos`, quiet in tests). */
  progress?: (message: string) => void;
}

export interface Check {
  what: string;
  held: boolean;
  /** Measured values, or the reason it did not hold. */
  detail: string;
}

export interface ScenarioReport {
  /** The load it ran under, in words. */
  load: string;
  checks: Check[];
  /** Measurements worth reporting that are not pass/fail. */
  notes: string[];
}

export interface Scenario {
  name: string;
  summary: string;
  /** Fast enough (reduced) to run inside `npm test`. */
  inTestSuite: boolean;
  /** The reduced run's time limit in spec/chaos.test.ts, when 60 s is too short on a loaded machine. */
  reducedTimeoutMs?: number;
  run(options: ScenarioOptions): Promise<ScenarioReport>;
}

/** Collects checks; a thrown error inside `run` becomes one failed check. */
export class Checks {
  readonly list: Check[] = [];
  readonly notes: string[] = [];

  add(what: string, held: boolean, detail = ''): boolean {
    this.list.push({ what, held, detail });
    return held;
  }

  note(text: string): void {
    this.notes.push(text);
  }

  report(load: string): ScenarioReport {
    return { load, checks: this.list, notes: this.notes };
  }
}

export const held = (report: ScenarioReport): boolean => report.checks.length > 0 && report.checks.every((c) => c.held);
