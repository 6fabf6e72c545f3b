// The job state machine: the only code that writes jobs.status and job_events.
export * from './model.js';
export { createJob, type CreateJobParams } from './create.js';
export { claimJob, completeJob, failAttempt, releaseJob, heartbeat, retryDelayMs } from './workerTransitions.js';
export { cancelJob, retryJob } from './clientTransitions.js';
export { reapStaleJobs, rescueAbandonedJobs, requeueOrphanedJobs } from './maintenance.js';
export { getJob, listJobs, listJobEvents, type ListJobsParams } from './queries.js';
export { InvalidCursorError } from './cursor.js';
