// The overview: the operations reports of sql/reports/ (the same SQL and the
// same runReport as `npm run report`, so the dashboard and the CLI never
// disagree), run as one set at most once per refresh interval whatever the
// number of viewers, and rendered as an HTML fragment the page swaps in place.
import type { Db } from '../../core/platform/db.js';
import { runReport, type ReportResult } from '../../core/reports.js';
import { throughputChart } from './chart.js';
import { formatAge, formatInt, formatMs, html, time, truncate, type Html } from './html.js';

export const OVERVIEW_REPORTS = ['jobs-by-status', 'throughput', 'latency', 'stuck', 'webhooks', 'failures'] as const;
export type OverviewReport = (typeof OVERVIEW_REPORTS)[number];

export interface OverviewSnapshot {
  generatedAt: Date;
  /** The --since of the windowed reports. */
  since: Date;
  windowLabel: string;
  staleAfterSeconds: number;
  reports: Record<OverviewReport, ReportResult>;
}

export const WINDOW = '24h';

/** Run the overview's reports one after the other (one connection), all with the same "now". */
export async function loadOverview(db: Db, opts: { staleAfterSeconds: number; now?: Date }): Promise<OverviewSnapshot> {
  const now = opts.now ?? new Date();
  const reports = {} as Record<OverviewReport, ReportResult>;
  for (const name of OVERVIEW_REPORTS) {
    const params = name === 'stuck' ? { stale_after_seconds: opts.staleAfterSeconds } : { since: WINDOW };
    reports[name] = await runReport(db, name, params, { now });
  }
  return { generatedAt: now, since: new Date(now.getTime() - 24 * 3_600_000), windowLabel: 'last 24 hours', staleAfterSeconds: opts.staleAfterSeconds, reports };
}

/**
 * One snapshot per interval for everyone: a load in flight is shared, and its
 * result is served until `ttlMs` after it finished. A failed load is not
 * cached (the next request tries again).
 */
export class SnapshotCache<T> {
  private entry: { promise: Promise<T>; settledAt: number | null } | undefined;
  /** How many times the loader ran. */
  loads = 0;

  constructor(
    private readonly load: () => Promise<T>,
    readonly ttlMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Drop the current snapshot (after a change made from the dashboard, so the operator sees its effect). */
  invalidate(): void {
    this.entry = undefined;
  }

  get(): Promise<T> {
    const e = this.entry;
    if (e && (e.settledAt === null || this.clock() - e.settledAt < this.ttlMs)) return e.promise;
    this.loads++;
    const entry: { promise: Promise<T>; settledAt: number | null } = { promise: this.load(), settledAt: null };
    this.entry = entry;
    entry.promise.then(
      () => {
        entry.settledAt = this.clock();
      },
      () => {
        if (this.entry === entry) this.entry = undefined;
      },
    );
    return entry.promise;
  }
}

// ---------------------------------------------------------------------------
// Rendering

const num = (v: unknown): number | null => (typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : null);

const STATUS_LABELS: Record<string, string> = {
  pending: 'Pending',
  processing: 'Processing',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

function statusTiles(r: ReportResult): Html {
  return html`<ul class="tiles" role="list">
    ${r.rows.map((row) => {
      const status = String(row.status);
      const scope = row.scope === 'now' ? 'now' : '24 h';
      const oldest = num(row.oldest_age_seconds);
      const sub = status === 'pending' ? (oldest === null ? 'none waiting' : `oldest ${formatAge(oldest)}`) : status === 'processing' ? (oldest === null ? 'none running' : `longest ${formatAge(oldest)}`) : 'in the last 24 h';
      return html`<li class="tile tile-${status}" data-status="${status}">
        <a href="/dashboard/jobs?status=${status}" class="tile-link"><span class="tile-label">${STATUS_LABELS[status] ?? status} <span class="tile-scope">${scope}</span></span>
        <span class="tile-value" data-count="${String(num(row.jobs) ?? 0)}">${formatInt(num(row.jobs))}</span>
        <span class="tile-sub">${sub}</span></a>
      </li>`;
    })}
  </ul>`;
}

function latencyTable(r: ReportResult): Html {
  const label: Record<string, [string, string]> = { queue_wait: ['Queue wait', 'created → first claim'], run_time: ['Run time', 'the successful attempt'] };
  return html`<table class="data">
    <caption class="visually-hidden">Queue wait and run time percentiles, last 24 hours</caption>
    <thead><tr><th scope="col">Measure</th><th scope="col" class="num">Jobs</th><th scope="col" class="num">p50</th><th scope="col" class="num">p95</th><th scope="col" class="num">p99</th></tr></thead>
    <tbody>${r.rows.map(
      (row) => html`<tr data-metric="${String(row.metric)}"><th scope="row">${label[String(row.metric)]?.[0] ?? String(row.metric)}<div class="muted small">${label[String(row.metric)]?.[1] ?? ''}</div></th><td class="num">${formatInt(num(row.jobs))}</td><td class="num">${formatMs(num(row.p50_ms))}</td><td class="num">${formatMs(num(row.p95_ms))}</td><td class="num">${formatMs(num(row.p99_ms))}</td></tr>`,
    )}</tbody>
  </table>`;
}

function stuckList(r: ReportResult, staleAfterSeconds: number): Html {
  if (r.rows.length === 0) return html`<p class="empty">No job has been processing for more than ${formatAge(staleAfterSeconds * 0.8)} (80 % of STALE_AFTER, ${formatAge(staleAfterSeconds)}).</p>`;
  const shown = r.rows.slice(0, 50);
  return html`<p class="summary"><strong>${formatInt(r.rows.length)}</strong> processing for over ${formatAge(staleAfterSeconds * 0.8)}; ${formatInt(r.rows.filter((x) => x.stale === true).length)} past STALE_AFTER (${formatAge(staleAfterSeconds)}).</p>
  <div class="scroll" tabindex="0" role="region" aria-label="Near-stale jobs">
  <table class="data compact">
    <thead><tr><th scope="col">Job / worker</th><th scope="col" class="num">Running</th><th scope="col">State</th><th scope="col" class="num hide-narrow">Last heartbeat</th></tr></thead>
    <tbody>${shown.map(
      (row) => html`<tr><th scope="row"><a href="/dashboard/jobs/${String(row.job_id)}" class="mono">${String(row.job_id)}</a><div class="mono muted small">${String(row.worker_id ?? '–')}</div></th><td class="num">${formatAge(num(row.age_seconds))}</td><td>${row.stale ? html`<span class="badge badge-failed">stale</span>` : html`<span class="badge badge-cancelled">near</span>`}</td><td class="num hide-narrow">${row.heartbeat_age_seconds === null ? '–' : `${formatAge(num(row.heartbeat_age_seconds))} ago`}</td></tr>`,
    )}</tbody>
  </table></div>${r.rows.length > shown.length ? html`<p class="muted">and ${formatInt(r.rows.length - shown.length)} more (npm run report -- stuck)</p>` : ''}`;
}

function webhooksTable(r: ReportResult): Html {
  const all = r.rows.find((x) => x.event === 'all');
  if (!all || num(all.events) === 0) return html`<p class="empty">No webhook delivery attempts in the last 24 hours.</p>`;
  const rate = num(all.success_rate_pct);
  return html`<p class="summary"><span class="big ${rate !== null && rate < 95 ? 'bad' : 'good'}" data-webhook-success="${rate === null ? '' : String(rate)}">${rate === null ? '–' : `${rate} %`}</span> delivered of events that finished (24 h)${all.oldest_retrying_since ? html`; oldest still retrying since ${time(all.oldest_retrying_since as Date)}` : ''}.</p>
  <table class="data compact">
    <caption class="visually-hidden">Webhook delivery health by event, last 24 hours</caption>
    <thead><tr><th scope="col">Event</th><th scope="col" class="num hide-narrow">Events</th><th scope="col" class="num">Delivered</th><th scope="col" class="num hide-narrow">Gave up</th><th scope="col" class="num hide-narrow">Retrying</th><th scope="col" class="num">Success</th><th scope="col" class="num hide-narrow" title="attempts per delivered event">Tries<span class="visually-hidden"> per delivered event</span></th></tr></thead>
    <tbody>${r.rows.map(
      (row) => html`<tr><th scope="row">${String(row.event)}</th><td class="num hide-narrow">${formatInt(num(row.events))}</td><td class="num">${formatInt(num(row.delivered))}</td><td class="num hide-narrow">${formatInt(num(row.gave_up))}</td><td class="num hide-narrow">${formatInt(num(row.retrying))}</td><td class="num">${num(row.success_rate_pct) === null ? '–' : `${num(row.success_rate_pct)} %`}</td><td class="num hide-narrow">${num(row.attempts_per_delivered) ?? '–'}</td></tr>`,
    )}</tbody>
  </table>`;
}

function failuresTable(r: ReportResult): Html {
  if (r.rows.length === 0) return html`<p class="empty">No failed jobs in the last 24 hours.</p>`;
  const shown = r.rows.slice(0, 5);
  return html`<table class="data">
    <caption class="visually-hidden">Failed jobs by error code and domain, last 24 hours, largest groups first</caption>
    <thead><tr><th scope="col">Error</th><th scope="col">Domain</th><th scope="col" class="num">Jobs</th><th scope="col" class="wide-only">Latest message</th></tr></thead>
    <tbody>${shown.map(
      (row) => html`<tr><th scope="row"><a href="/dashboard/jobs?status=failed&amp;domain=${encodeURIComponent(String(row.domain))}" class="mono">${String(row.code)}</a></th><td class="mono">${String(row.domain)}</td><td class="num">${formatInt(num(row.failures))}</td><td class="wide-only fill" title="${String(row.example_message ?? '')}">${truncate(String(row.example_message ?? ''), 120)}</td></tr>`,
    )}</tbody>
  </table>${r.rows.length > shown.length ? html`<p class="muted">${formatInt(r.rows.length - shown.length)} more groups: npm run report -- failures</p>` : ''}`;
}

/** The part of the overview that refreshes: fixed-size panels whose content is swapped. */
export function overviewFragment(s: OverviewSnapshot, refreshSeconds: number): Html {
  const t = s.reports.throughput.rows;
  const totals = t.reduce<{ created: number; completed: number; failed: number }>(
    (acc, r) => ({ created: acc.created + (num(r.created) ?? 0), completed: acc.completed + (num(r.completed) ?? 0), failed: acc.failed + (num(r.failed) ?? 0) }),
    { created: 0, completed: 0, failed: 0 },
  );
  const hourly = t.map((r) => ({ hour: r.hour as Date, created: num(r.created) ?? 0, completed: num(r.completed) ?? 0, failed: num(r.failed) ?? 0 }));
  return html`<div id="overview" data-generated-at="${s.generatedAt.toISOString()}">
  <p class="meta" id="overview-meta">Figures from <code>sql/reports</code> (as <code>npm run report</code>), window ${s.windowLabel}. Updated ${time(s.generatedAt)}; refreshes every ${refreshSeconds} s.</p>
  <section class="panel panel-status" aria-labelledby="h-status">
    <h2 id="h-status">Jobs by status</h2>
    ${statusTiles(s.reports['jobs-by-status'])}
  </section>
  <div class="grid">
    <section class="panel panel-chart" aria-labelledby="h-throughput">
      <h2 id="h-throughput">Throughput per hour</h2>
      <p class="summary">${formatInt(totals.created)} created, ${formatInt(totals.completed)} completed, ${formatInt(totals.failed)} failed in the ${s.windowLabel}.</p>
      <div class="chart-wide">${throughputChart(hourly, { width: 720, id: 'tp-wide' })}</div>
      <div class="chart-narrow">${throughputChart(hourly, { width: 360, id: 'tp-narrow' })}</div>
      <details id="throughput-data"><summary>Throughput as a table</summary>
        <div class="scroll scroll-short" tabindex="0" role="region" aria-label="Throughput per hour table">
        <table class="data"><thead><tr><th scope="col">Hour (UTC)</th><th scope="col" class="num">Created</th><th scope="col" class="num">Completed</th><th scope="col" class="num">Failed</th></tr></thead>
        <tbody>${hourly.map((h) => html`<tr><th scope="row">${time(h.hour)}</th><td class="num">${formatInt(h.created)}</td><td class="num">${formatInt(h.completed)}</td><td class="num">${formatInt(h.failed)}</td></tr>`)}</tbody></table></div>
      </details>
    </section>
    <section class="panel panel-latency" aria-labelledby="h-latency">
      <h2 id="h-latency">Queue wait and run time</h2>
      ${latencyTable(s.reports.latency)}
    </section>
    <section class="panel panel-stuck" aria-labelledby="h-stuck">
      <h2 id="h-stuck">Stuck and near-stale jobs</h2>
      ${stuckList(s.reports.stuck, s.staleAfterSeconds)}
    </section>
    <section class="panel panel-webhooks" aria-labelledby="h-webhooks">
      <h2 id="h-webhooks">Webhook delivery health</h2>
      ${webhooksTable(s.reports.webhooks)}
    </section>
    <section class="panel panel-failures" aria-labelledby="h-failures">
      <h2 id="h-failures">Top failures</h2>
      ${failuresTable(s.reports.failures)}
    </section>
  </div>
</div>`;
}

