import { purgeFinishedJobs } from '../src/services/platform/jobs'
import type { CronJob } from './registry'

/** Garbage collection: finished background jobs are kept 30 days for their owners to read. */
export const purgeFinishedJobsJob: CronJob = {
  name: 'purge-finished-jobs',
  run: async (s) => ({ processed: await purgeFinishedJobs(s, { olderThanDays: 30, batchSize: 1000 }) }),
}
