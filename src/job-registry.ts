import { reportEmailJobType, sendReportEmailJob } from './services/moderation/report-email'
import type { JobType } from './services/platform/jobs'
import { echoJobType, runEcho } from './services/platform/tasks'
import { runVerification, settleGaveUp } from './services/verification/job'
import { verificationJobType } from './services/verification/verification'

/**
 * Every job type the queue consumer (src/queue.ts) runs, and its handler: the one list, as
 * cron/registry.ts is for crons. A type missing here fails its jobs with "no handler". Tests add
 * `test.*` types for the length of a test.
 */
export const jobRegistry = new Map<string, JobType>([
  [echoJobType, { run: runEcho }],
  [verificationJobType, { run: runVerification, onFinalFailure: settleGaveUp }],
  [reportEmailJobType, { run: sendReportEmailJob }],
])
