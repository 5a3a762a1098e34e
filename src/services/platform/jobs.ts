import { and, eq, inArray, lt, sql } from 'drizzle-orm'
import { z } from 'zod'
import { deleteBounded } from '../../db/bounded-delete'
import { jobs } from '../../db/schema'
import { describeError } from '../../lib/log'
import type { Services } from '..'

/** What travels on the JOBS queue: only the id and type. The row in `jobs` holds the rest. */
export const JobMessageSchema = z.object({ jobId: z.uuid(), type: z.string().min(1).max(100) })
export type JobMessage = z.infer<typeof JobMessageSchema>

export interface JobContext {
  id: string
  type: string
  ownerId: string | null
  payload: unknown
  /** 1 on the first delivery. */
  attempt: number
}

/** Thrown by a handler for work that can never succeed (bad payload): no retries. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError'
}

/**
 * Thrown by a handler for a transient failure whose upstream said when to come back (an HTTP
 * `Retry-After`): the retry waits at least that long, and longer if the backoff says so.
 */
export class RetryLaterError extends Error {
  override name = 'RetryLaterError'
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message)
  }
}

export type JobHandler = (s: Services, job: JobContext) => Promise<unknown>

/**
 * Called once when a job will never succeed: it failed permanently, or the queue gave up after
 * its last retry (dead letter). Lets a feature settle the state it shows its user (e.g. a
 * verification stuck in "running") instead of leaving it pending forever.
 */
export type JobFinalFailureHandler = (
  s: Services,
  job: Omit<JobContext, 'attempt'>,
  error: string,
) => Promise<void>

/** What the consumer knows about one job type: how to run it and, optionally, how to settle its final failure. */
export interface JobType {
  run: JobHandler
  onFinalFailure?: JobFinalFailureHandler
}

/** Job types by name; the Worker's is src/job-registry.ts, the consumer dispatches on `type`. */
export type JobRegistry = ReadonlyMap<string, JobType>

/** Run a type's final-failure handler; its own failure is logged, never rethrown (the job is over). */
async function settleFinalFailure(
  s: Services,
  registry: JobRegistry,
  job: Omit<JobContext, 'attempt'>,
  error: string,
) {
  const settle = registry.get(job.type)?.onFinalFailure
  if (!settle) return
  try {
    await settle(s, job, error)
  } catch (err) {
    s.log.error('job.final_failure_handler_failed', {
      jobId: job.id,
      type: job.type,
      error: describeError(err),
    })
  }
}

/**
 * Record a job and put it on the queue. The row is written first so the job is visible (and
 * pollable) before any consumer can pick it up.
 *
 * @example
 * const { id } = await enqueueJob(s, { type: 'export.build', ownerId: caller.userId, payload: {} })
 */
export async function enqueueJob(
  s: Services,
  job: { type: string; ownerId?: string | null; payload?: unknown },
): Promise<{ id: string }> {
  const [row] = await s.database.db
    .insert(jobs)
    .values({ type: job.type, ownerId: job.ownerId ?? null, payload: job.payload ?? {} })
    .returning({ id: jobs.id })
  await s.env.JOBS.send({ jobId: row!.id, type: job.type })
  return { id: row!.id }
}

/** Exponential backoff between attempts: 5 s, 10 s, 20 s … capped at one hour. */
export const retryDelaySeconds = (attempt: number) => Math.min(3600, 5 * 2 ** Math.max(0, attempt - 1))

type Outcome = 'succeeded' | 'retry' | 'failed' | 'skipped'

/**
 * Run one delivery of a job. Safe under at-least-once delivery: a job that already reached a
 * terminal state is skipped, and the transition to `running` is a single conditional UPDATE.
 */
export async function runJob(
  s: Services,
  registry: JobRegistry,
  message: JobMessage,
  attempt: number,
): Promise<Outcome> {
  return (await runJobDelivery(s, registry, message, attempt)).outcome
}

/**
 * {@link runJob}, plus how long to wait before the retry when the outcome is `retry`: the
 * exponential backoff, or longer when the handler threw a {@link RetryLaterError}.
 */
export async function runJobDelivery(
  s: Services,
  registry: JobRegistry,
  message: JobMessage,
  attempt: number,
): Promise<{ outcome: Outcome; delaySeconds?: number }> {
  const now = s.clock.now()
  const [job] = await s.database.db
    .update(jobs)
    .set({ status: 'running', attempts: sql`${jobs.attempts} + 1`, startedAt: now, updatedAt: now })
    .where(and(eq(jobs.id, message.jobId), inArray(jobs.status, ['queued', 'running'])))
    .returning()
  if (!job) {
    s.log.info('job.skipped', { jobId: message.jobId, reason: 'unknown or already finished' })
    return { outcome: 'skipped' }
  }
  const handler = registry.get(job.type)?.run
  const finish = (values: Partial<typeof jobs.$inferInsert>) =>
    s.database.db
      .update(jobs)
      .set({ ...values, updatedAt: s.clock.now() })
      .where(eq(jobs.id, job.id))
  if (!handler) {
    await finish({
      status: 'failed',
      error: `no handler for job type "${job.type}"`,
      finishedAt: s.clock.now(),
    })
    s.log.error('job.no_handler', { jobId: job.id, type: job.type })
    return { outcome: 'failed' }
  }
  const context = { id: job.id, type: job.type, ownerId: job.ownerId, payload: job.payload }
  try {
    const result = await handler(s, { ...context, attempt })
    await finish({ status: 'succeeded', result: result ?? null, error: null, finishedAt: s.clock.now() })
    return { outcome: 'succeeded' }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    if (err instanceof PermanentJobError) {
      await finish({ status: 'failed', error: message, finishedAt: s.clock.now() })
      await settleFinalFailure(s, registry, context, message)
      return { outcome: 'failed' }
    }
    // Back to `queued` with the error kept, so pollers see why it is being retried.
    await finish({ status: 'queued', error: message })
    s.log.warn('job.attempt_failed', { jobId: job.id, type: job.type, attempt, error: describeError(err) })
    const backoff = retryDelaySeconds(attempt)
    const delaySeconds =
      err instanceof RetryLaterError
        ? Math.min(3600, Math.max(backoff, Math.ceil(err.retryAfterSeconds)))
        : backoff
    return { outcome: 'retry', delaySeconds }
  }
}

/** Called by the dead-letter consumer: the queue gave up on this job after its last retry. */
export async function markJobDead(s: Services, registry: JobRegistry, message: JobMessage): Promise<void> {
  const now = s.clock.now()
  const [dead] = await s.database.db
    .update(jobs)
    .set({ status: 'dead', finishedAt: now, updatedAt: now })
    .where(and(eq(jobs.id, message.jobId), inArray(jobs.status, ['queued', 'running'])))
    .returning({
      id: jobs.id,
      type: jobs.type,
      ownerId: jobs.ownerId,
      payload: jobs.payload,
      error: jobs.error,
    })
  s.log.error('job.dead', { jobId: message.jobId, type: message.type })
  // Only the delivery that actually buried the job settles it: a redelivered dead letter does not.
  if (dead) {
    const { error, ...job } = dead
    await settleFinalFailure(s, registry, job, error ?? 'retries exhausted')
  }
}

/**
 * Delete finished jobs older than `olderThanDays`, at most `batchSize` per call, so a cron run
 * stays bounded however large the backlog. Returns how many rows went.
 */
export async function purgeFinishedJobs(s: Services, opts: { olderThanDays: number; batchSize: number }) {
  const cutoff = new Date(s.clock.now().getTime() - opts.olderThanDays * 86_400_000)
  return deleteBounded(
    s.database.db,
    jobs,
    jobs.id,
    and(inArray(jobs.status, ['succeeded', 'failed', 'dead']), lt(jobs.finishedAt, cutoff)),
    opts.batchSize,
  )
}
