import { reportEmailJobType, sendReportEmailJob } from './services/moderation/report-email'
import type { Services } from './services'
import type { JobType } from './services/platform/jobs'
import { PushQueueMessageSchema, handlePushBatch } from './services/push/queue'
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

/**
 * Queues that carry no jobs, chosen by queue name (prefix; the environment suffix follows): each
 * message is checked against `schema`, and the valid ones go to `handle` as one batch. The push
 * queue is one: pushes of a batch share Expo requests, and the handler re-queues what may
 * succeed later itself.
 */
export interface BatchQueue {
  prefix: string
  schema: { safeParse(value: unknown): { success: true; data: unknown } | { success: false } }
  handle(s: Services, messages: unknown[]): Promise<unknown>
}

export const batchQueues: readonly BatchQueue[] = [
  {
    prefix: 'rapport-push-',
    schema: PushQueueMessageSchema,
    handle: (s, messages) => handlePushBatch(s, messages as Parameters<typeof handlePushBatch>[1]),
  },
]
