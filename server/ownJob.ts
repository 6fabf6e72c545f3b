import type { ApiKey } from '../core/apiKeys.js';
import type { Sql } from '../core/platform/db.js';
import { getJob, type Job } from '../core/jobs/index.js';
import { notFound } from './errors.js';
import { jobIdSchema } from './schemas.js';
import { parseOr400 } from './validation.js';

/**
 * The caller's job by id, or 404: another key's job is indistinguishable from
 * a missing one. Without its result unless asked (`withResult`): checking
 * ownership must not load megabytes.
 */
export function ownJobFinder(sql: Sql) {
  return async (apiKey: ApiKey, rawId: string, locals: Record<string, unknown>, opts: { withResult?: boolean } = {}): Promise<Job> => {
    const jobId = parseOr400(jobIdSchema, rawId, 'jobId');
    locals.jobId = jobId;
    const job = await getJob(sql, { jobId, apiKeyId: apiKey.id, withResult: opts.withResult ?? false });
    if (!job) throw notFound('job');
    return job;
  };
}
