// Request schemas: the single description of what each route accepts.
import { z } from 'zod';
import { JOB_STATUSES } from '../core/jobs.js';
import { checkUrlSyntax } from '../core/ssrf.js';

const MAX_URL_LENGTH = 2048;

function publicUrl(allowPrivateNetworks: boolean) {
  return z
    .string({ error: 'must be a string URL' })
    .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
    .superRefine((value, ctx) => {
      const checked = checkUrlSyntax(value, { allowPrivateNetworks });
      if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.message });
    });
}

const pathPattern = z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters');

export function extractRequestSchema(opts: { allowPrivateNetworks: boolean }) {
  const url = publicUrl(opts.allowPrivateNetworks);
  return z
    .strictObject(
      {
        url,
        callbackUrl: url.optional(),
        maxPages: z.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(20, 'must be at most 20').optional(),
        singlePage: z.boolean({ error: 'must be true or false' }).optional(),
        includePatterns: z.array(pathPattern).max(20, 'at most 20 patterns').optional(),
        excludePatterns: z.array(pathPattern).max(20, 'at most 20 patterns').optional(),
        urls: z.array(url).min(1, 'must list at least one URL').max(20, 'at most 20 URLs').optional(),
      },
      { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : undefined) },
    );
}
export type ExtractRequest = z.output<ReturnType<typeof extractRequestSchema>>;

export const listJobsQuerySchema = z.strictObject({
  status: z.enum(JOB_STATUSES, { error: `must be one of ${JOB_STATUSES.join(', ')}` }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(100, 'must be at most 100').default(20),
  cursor: z.string().max(500).optional(),
});

export const jobIdSchema = z.string().regex(/^job_[0-9A-Za-z]{1,64}$/, 'is not a job id');

export const idempotencyKeySchema = z.string().min(1, 'must not be empty').max(255, 'must be at most 255 characters');
