// The job state machine: the only code that writes jobs.status and job_events.
export * from './model.js';
export { createJob, JobCreator, type CreateJobParams } from './create.js';
export { CompletionBatcher, completeJobs, type Completion } from './completions.js';
export { claimNextJobs, failAttempt, releaseJob, heartbeat, retryDelayMs, type ClaimedJob } from './workerTransitions.js';
export { cancelJob, retryJob } from './clientTransitions.js';
export { AttemptOverError, holdAttempt } from './attemptFence.js';
export { deleteFinishedJobs, expiredJobIds, reapStaleJobs, rescueAbandonedJobs, requeueOrphanedJobs, type BacklogCursor, type RetentionBatch } from './maintenance.js';
export { getJob, listJobs, listJobEvents, type ListJobsParams } from './queries.js';
export { InvalidCursorError } from './cursor.js';
