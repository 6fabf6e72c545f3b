// Server-rendered pages of the dashboard.
import type { ApiKey } from '../../core/apiKeys.js';
import type { AdminJob } from '../../core/jobs/adminQueries.js';
import { JOB_STATUSES, type Job, type JobEvent } from '../../core/jobs/index.js';
import type { ReportResult } from '../../core/reports.js';
import type { DeliveryAttempt } from '../../core/webhooks/deliveries.js';
import type { AdminAuth } from './auth.js';
import { formatInt, formatMs, html, statusBadge, time, truncate, type Html } from './html.js';

export type Section = 'overview' | 'jobs' | 'keys' | null;

export interface LayoutOptions {
  title: string;
  section: Section;
  auth: AdminAuth | null;
  refreshSeconds?: number;
}

export function layout(o: LayoutOptions, body: Html): Html {
  const nav = (section: Exclude<Section, null>, href: string, label: string) =>
    html`<li><a href="${href}"${o.section === section ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${o.title} · Gleaner ops</title>
<link rel="stylesheet" href="/dashboard/static/dashboard.css">
<script src="/dashboard/static/dashboard.js" defer></script>
</head>
<body${o.refreshSeconds ? html` data-refresh-seconds="${String(o.refreshSeconds)}"` : ''}>
<a class="skip" href="#main">Skip to content</a>
<header class="top"><div class="inner">
  <a class="brand" href="/dashboard">Gleaner <span>ops</span></a>
  ${o.auth
    ? html`<nav aria-label="Dashboard"><ul>
    ${nav('overview', '/dashboard', 'Overview')}
    ${nav('jobs', '/dashboard/jobs', 'Jobs')}
    ${nav('keys', '/dashboard/keys', 'API keys')}
    <li><a href="/docs">API docs</a></li>
  </ul></nav>
  ${o.auth.via === 'cookie' ? html`<form method="post" action="/dashboard/logout">${csrfField(o.auth)}<button type="submit" class="logout">Log out</button></form>` : ''}`
    : ''}
</div></header>
<main id="main" tabindex="-1">
${body}
</main>
<footer>Gleaner operator dashboard · times in UTC</footer>
</body>
</html>`;
}

export const csrfField = (auth: AdminAuth | null) => (auth?.csrf ? html`<input type="hidden" name="_csrf" value="${auth.csrf}">` : '');

export function flash(kind: 'ok' | 'error', message: string | undefined): Html {
  if (!message) return html``;
  return html`<div class="flash flash-${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${message}</div>`;
}

// ---------------------------------------------------------------------------
// Login and errors

export function loginPage(opts: { error?: string; next?: string }): Html {
  return layout(
    { title: 'Sign in', section: null, auth: null },
    html`<div class="login">
  <h1>Gleaner operator dashboard</h1>
  ${flash('error', opts.error)}
  <div class="panel">
    <form method="post" action="/dashboard/login">
      <label for="token">Admin token</label>
      <input type="password" id="token" name="token" autocomplete="current-password" required aria-describedby="token-hint">
      <input type="hidden" name="next" value="${opts.next ?? '/dashboard'}">
      <button type="submit">Sign in</button>
      <p class="hint" id="token-hint">The value of <code>ADMIN_TOKEN</code> on the API server. It is exchanged for a session cookie (12 hours) and not stored in the browser.</p>
    </form>
  </div>
</div>`,
  );
}

export function errorPage(auth: AdminAuth | null, status: number, title: string, message: string): Html {
  return layout({ title, section: null, auth }, html`<h1>${title}</h1><p>${message}</p><p><a href="/dashboard">Back to the overview</a></p><p class="muted">HTTP ${String(status)}</p>`);
}

// ---------------------------------------------------------------------------
// Overview

export function overviewPage(auth: AdminAuth, fragment: Html, refreshSeconds: number): Html {
  return layout(
    { title: 'Overview', section: 'overview', auth, refreshSeconds },
    html`<div class="page-head"><h1>Overview</h1>
    <p><button type="button" id="refresh-toggle" class="secondary" aria-pressed="false" hidden>Pause auto-refresh</button> <span id="refresh-state" role="status" class="muted"></span></p></div>
    ${fragment}`,
  );
}

// ---------------------------------------------------------------------------
// Jobs

export interface JobFilterForm {
  status: string;
  key: string;
  domain: string;
  since: string;
  before: string;
}

function filterQuery(f: JobFilterForm, cursor?: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) q.set(k, v);
  if (cursor) q.set('cursor', cursor);
  const s = q.toString();
  return s ? `?${s}` : '';
}

export function jobsPage(o: { auth: AdminAuth; filter: JobFilterForm; keys: ApiKey[]; jobs: AdminJob[]; nextCursor: string | null; paged: boolean; error?: string }): Html {
  const { filter } = o;
  const statusOptions = ['', ...JOB_STATUSES].map((s) => html`<option value="${s}"${filter.status === s ? html` selected` : ''}>${s || 'any status'}</option>`);
  const keyOptions = [html`<option value="">any key</option>`, ...o.keys.map((k) => html`<option value="${k.id}"${filter.key === k.id ? html` selected` : ''}>${k.name} (${k.id})${k.revokedAt ? ' – revoked' : ''}</option>`)];
  return layout(
    { title: 'Jobs', section: 'jobs', auth: o.auth },
    html`<h1>Jobs</h1>
  ${flash('error', o.error)}
  <section class="panel" aria-labelledby="h-filter">
    <h2 id="h-filter">Filter</h2>
    <form class="filters" method="get" action="/dashboard/jobs">
      <div><label for="f-status">Status</label><select id="f-status" name="status">${statusOptions}</select></div>
      <div><label for="f-key">API key</label><select id="f-key" name="key">${keyOptions}</select></div>
      <div><label for="f-domain">Domain <span class="hint">exact host</span></label><input type="text" id="f-domain" name="domain" value="${filter.domain}" placeholder="example.com" inputmode="url" autocomplete="off"></div>
      <div><label for="f-since">Created since <span class="hint">24h, 7d or a date</span></label><input type="text" id="f-since" name="since" value="${filter.since}" placeholder="24h" autocomplete="off"></div>
      <div><label for="f-before">Created before <span class="hint">date or duration ago</span></label><input type="text" id="f-before" name="before" value="${filter.before}" placeholder="2026-01-31T12:00Z" autocomplete="off"></div>
      <div class="actions"><button type="submit">Apply</button> <a class="button secondary" href="/dashboard/jobs">Reset</a></div>
    </form>
  </section>
  <section class="panel" aria-labelledby="h-results">
    <h2 id="h-results">${o.jobs.length === 0 ? 'No jobs match' : `${o.jobs.length}${o.nextCursor ? '+' : ''} jobs${o.paged ? ' (continued)' : ''}`}</h2>
    ${o.jobs.length === 0
      ? html`<p class="empty">Nothing matches these filters.</p>`
      : html`<div class="table-wrap"><table class="data" id="jobs-table">
      <caption class="visually-hidden">Jobs, newest first</caption>
      <thead><tr><th scope="col">Job</th><th scope="col">Status</th><th scope="col">URL</th><th scope="col" class="hide-narrow">Key</th><th scope="col" class="hide-narrow">Created</th><th scope="col" class="num hide-narrow">Attempts</th><th scope="col" class="wide-only">Error</th></tr></thead>
      <tbody>${o.jobs.map(
        (j) => html`<tr data-job-id="${j.id}" data-status="${j.status}">
        <th scope="row"><a class="mono" href="/dashboard/jobs/${j.id}">${j.id}</a></th>
        <td>${statusBadge(j.status)}</td>
        <td class="clip" title="${j.input.url}">${truncate(j.input.url, 60)}</td>
        <td class="hide-narrow">${j.keyName}</td>
        <td class="hide-narrow">${time(j.createdAt)}</td>
        <td class="num hide-narrow">${String(j.attempts)} / ${String(j.maxAttempts)}</td>
        <td class="wide-only clip mono">${j.error?.code ?? ''}</td></tr>`,
      )}</tbody></table></div>`}
    <nav class="pager" aria-label="Pages">
      ${o.paged ? html`<a href="/dashboard/jobs${filterQuery(filter)}">First page</a>` : ''}
      ${o.nextCursor ? html`<a href="/dashboard/jobs${filterQuery(filter, o.nextCursor)}" rel="next">Older jobs →</a>` : html`<span class="muted">End of the list</span>`}
    </nav>
  </section>`,
  );
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

function resultSummary(job: Job): Html {
  if (job.status !== 'completed' || !job.result || typeof job.result !== 'object') return html`<p class="empty">No result${job.status === 'completed' ? '' : ` (the job is ${job.status})`}.</p>`;
  const r = job.result as Record<string, unknown>;
  const len = (v: unknown) => (typeof v === 'string' ? `${formatInt(v.length)} characters` : '–');
  const count = (v: unknown) => (Array.isArray(v) ? formatInt(v.length) : '–');
  return html`<dl class="facts">
    <dt>Title</dt><dd>${typeof r.title === 'string' ? r.title : '–'}</dd>
    <dt>Final URL</dt><dd class="mono">${typeof r.finalUrl === 'string' ? r.finalUrl : '–'}</dd>
    <dt>HTTP status</dt><dd>${typeof r.statusCode === 'number' ? String(r.statusCode) : '–'}</dd>
    <dt>Language</dt><dd>${typeof r.language === 'string' ? r.language : '–'}</dd>
    <dt>Pages scraped</dt><dd>${typeof r.pagesScraped === 'number' ? String(r.pagesScraped) : '–'}</dd>
    <dt>Markdown</dt><dd>${len(r.markdown)}</dd>
    <dt>Text</dt><dd>${len(r.text)}</dd>
    <dt>Headings / links</dt><dd>${count(r.headings)} / ${count(r.links)}</dd>
  </dl>
  ${typeof r.text === 'string' && r.text ? html`<details><summary>Text excerpt</summary><pre>${truncate(r.text, 1200)}</pre></details>` : ''}`;
}

function describeEvent(e: JobEvent): Html {
  const detail = e.detail ?? {};
  const reason = typeof detail.reason === 'string' ? detail.reason : null;
  const err = detail.error && typeof detail.error === 'object' ? (detail.error as Record<string, unknown>) : null;
  return html`<li>
    <div>${e.fromStatus ? html`${statusBadge(e.fromStatus)} → ` : html`created as `}${statusBadge(e.toStatus)} <span class="muted">· attempt ${String(e.attempt)}${e.workerId ? html` · <span class="mono">${e.workerId}</span>` : ''}</span></div>
    <div class="muted">${time(e.at)}${reason ? ` · ${reason}` : ''}${err ? html` · <span class="mono">${String(err.code ?? '')}</span> ${String(err.message ?? '')}` : ''}</div>
  </li>`;
}

const ACTION_MESSAGES: Record<string, string> = {
  retried: 'Retried: the job is pending again, with a fresh budget of attempts.',
  cancelled: 'Cancelled.',
  redelivered: 'The final event’s webhook is queued for delivery again.',
};
const ACTION_ERRORS: Record<string, string> = {
  not_retryable: 'Only failed or cancelled jobs can be retried.',
  not_cancellable: 'Only pending or processing jobs can be cancelled.',
  not_redeliverable: 'Only completed or failed jobs with a callbackUrl have a final event to deliver.',
};

export function jobPage(o: { auth: AdminAuth; job: Job; keyName: string; events: JobEvent[]; deliveries: DeliveryAttempt[]; done?: string; error?: string }): Html {
  const { job } = o;
  const button = (action: string, label: string, cls = '', confirm?: string) =>
    html`<form method="post" action="/dashboard/jobs/${job.id}/${action}"${confirm ? html` data-confirm="${confirm}"` : ''}>${csrfField(o.auth)}<button type="submit" class="${cls}">${label}</button></form>`;
  const canRetry = job.status === 'failed' || job.status === 'cancelled';
  const canCancel = job.status === 'pending' || job.status === 'processing';
  const canRedeliver = job.callbackUrl !== null && (job.status === 'completed' || job.status === 'failed');
  return layout(
    { title: `Job ${job.id}`, section: 'jobs', auth: o.auth },
    html`<p><a href="/dashboard/jobs">← Jobs</a></p>
  <div class="page-head"><h1><span class="mono">${job.id}</span></h1><p id="job-status" data-status="${job.status}">${statusBadge(job.status)}</p></div>
  ${flash('ok', o.done ? ACTION_MESSAGES[o.done] : undefined)}
  ${flash('error', o.error ? ACTION_ERRORS[o.error] : undefined)}
  <div class="actions" role="group" aria-label="Job actions">
    ${canRetry ? button('retry', 'Retry') : ''}
    ${canCancel ? button('cancel', 'Cancel job', 'danger', 'Cancel this job?') : ''}
    ${canRedeliver ? button('redeliver', 'Redeliver webhook', 'secondary') : ''}
    ${!canRetry && !canCancel && !canRedeliver ? html`<span class="muted">No action applies to a ${job.status} job${job.callbackUrl ? '' : ' without a callbackUrl'}.</span>` : ''}
  </div>
  <div class="two">
    <section class="panel" aria-labelledby="h-summary">
      <h2 id="h-summary">Summary</h2>
      <dl class="facts">
        <dt>URL</dt><dd class="mono">${job.input.url}</dd>
        <dt>API key</dt><dd>${o.keyName} <span class="mono muted">${job.apiKeyId}</span></dd>
        <dt>Created</dt><dd>${time(job.createdAt)}</dd>
        <dt>Started</dt><dd>${time(job.startedAt)}</dd>
        <dt>Finished</dt><dd>${time(job.completedAt)}</dd>
        <dt>Attempts</dt><dd>${String(job.attempts)} of ${String(job.maxAttempts)}</dd>
        <dt>Worker</dt><dd class="mono">${job.workerId ?? '–'}</dd>
        <dt>Callback</dt><dd class="mono">${job.callbackUrl ?? '–'}</dd>
        ${job.idempotencyKey ? html`<dt>Idempotency key</dt><dd class="mono">${job.idempotencyKey}</dd>` : ''}
      </dl>
    </section>
    <section class="panel" aria-labelledby="h-progress">
      <h2 id="h-progress">Progress and outcome</h2>
      ${job.error ? html`<div id="job-error"><h3>Error</h3><p><span class="mono">${job.error.code}</span>: ${job.error.message}</p></div>` : ''}
      ${job.progress ? html`<h3>Progress</h3><pre>${json(job.progress)}</pre>` : html`<p class="muted">No progress reported yet.</p>`}
      <h3>Result</h3>
      ${resultSummary(job)}
    </section>
  </div>
  <section class="panel" aria-labelledby="h-input">
    <h2 id="h-input">Input</h2>
    <pre>${json(job.input)}</pre>
  </section>
  <div class="two">
    <section class="panel" aria-labelledby="h-events">
      <h2 id="h-events">Timeline</h2>
      ${o.events.length ? html`<ol class="timeline">${o.events.map(describeEvent)}</ol>` : html`<p class="empty">No events.</p>`}
    </section>
    <section class="panel" aria-labelledby="h-deliveries">
      <h2 id="h-deliveries">Webhook deliveries</h2>
      ${o.deliveries.length
        ? html`<div class="table-wrap"><table class="data">
        <thead><tr><th scope="col">Attempt</th><th scope="col">Event</th><th scope="col">Outcome</th><th scope="col" class="num">HTTP</th><th scope="col" class="num">Time</th><th scope="col">At</th></tr></thead>
        <tbody>${o.deliveries.map(
          (d) => html`<tr><th scope="row">${String(d.attempt)}</th><td class="mono">${d.event}</td><td><span class="badge badge-${d.outcome}">${d.outcome}</span>${d.error ? html`<div class="muted">${truncate(d.error, 120)}</div>` : ''}${d.nextAttemptAt ? html`<div class="muted">next ${time(d.nextAttemptAt)}</div>` : ''}</td><td class="num">${d.statusCode === null ? '–' : String(d.statusCode)}</td><td class="num">${formatMs(d.durationMs)}</td><td>${time(d.createdAt)}</td></tr>`,
        )}</tbody></table></div>`
        : html`<p class="empty">${job.callbackUrl ? 'No delivery attempts yet.' : 'The job has no callbackUrl.'}</p>`}
    </section>
  </div>`,
  );
}

// ---------------------------------------------------------------------------
// API keys

export function keysPage(o: { auth: AdminAuth; keys: ApiKey[]; usage: ReportResult; created?: { key: string; apiKey: ApiKey }; done?: string; error?: string }): Html {
  const usage = new Map(o.usage.rows.map((r) => [String(r.key_id), r]));
  return layout(
    { title: 'API keys', section: 'keys', auth: o.auth },
    html`<h1>API keys</h1>
  ${o.created
    ? html`<div class="flash flash-ok" role="status" id="new-key"><p><strong>Created key “${o.created.apiKey.name}”.</strong> Copy it now: it is shown only this once and cannot be recovered.</p>
      <code class="newkey" id="new-key-value">${o.created.key}</code></div>`
    : ''}
  ${flash('ok', o.done)}
  ${flash('error', o.error)}
  <section class="panel" aria-labelledby="h-create">
    <h2 id="h-create">Create a key</h2>
    <form method="post" action="/dashboard/keys" class="filters">
      ${csrfField(o.auth)}
      <div><label for="key-name">Name</label><input type="text" id="key-name" name="name" required maxlength="100" autocomplete="off" placeholder="billing-service"></div>
      <div class="actions"><button type="submit">Create key</button></div>
    </form>
  </section>
  <section class="panel" aria-labelledby="h-keys">
    <h2 id="h-keys">Keys</h2>
    <div class="table-wrap"><table class="data" id="keys-table">
      <caption class="visually-hidden">API keys with their use over the last 24 hours</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Id / prefix</th><th scope="col">State</th><th scope="col" class="num hide-narrow">Jobs 24 h</th><th scope="col" class="hide-narrow">Last job</th><th scope="col" class="hide-narrow">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
      <tbody>${o.keys.map((k) => {
        const u = usage.get(k.id);
        return html`<tr data-key-id="${k.id}" data-state="${k.revokedAt ? 'revoked' : 'active'}">
        <th scope="row">${k.name}</th>
        <td><span class="mono">${k.id}</span><br><span class="mono muted">${k.prefix}…</span></td>
        <td>${k.revokedAt ? html`<span class="badge badge-revoked">revoked</span> <span class="muted">${time(k.revokedAt)}</span>` : html`<span class="badge badge-active">active</span>`}</td>
        <td class="num hide-narrow">${u ? formatInt(u.jobs_created) : '0'}</td>
        <td class="hide-narrow">${u?.last_activity ? time(u.last_activity as Date) : html`<span class="muted">–</span>`}</td>
        <td class="hide-narrow">${time(k.createdAt)}</td>
        <td>${k.revokedAt ? '' : html`<form method="post" action="/dashboard/keys/${k.id}/revoke" data-confirm="Revoke the key “${k.name}”? Clients using it get 401 at once.">${csrfField(o.auth)}<button type="submit" class="danger" aria-label="Revoke ${k.name}">Revoke</button></form>`}</td>
      </tr>`;
      })}</tbody>
    </table></div>
  </section>`,
  );
}
