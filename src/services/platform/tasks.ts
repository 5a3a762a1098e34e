import { and, eq } from 'drizzle-orm'
import { z } from 'zod'
import { jobs } from '../../db/schema'
import type { Caller } from '../../types'
import { PermanentJobError, enqueueJob } from './jobs'
import type { Services } from '..'

/**
 * The boilerplate's task contract (`POST /tasks/task?message=…`, `GET /tasks/task/{id}`) over
 * Rapport's job machinery: the row in `jobs` is the task, the JOBS queue runs it.
 */

/** The boilerplate's sample job type: completes with a result that quotes the message. */
export const echoJobType = 'sample.echo'
export const maxTaskMessageLength = 500

const EchoPayload = z.object({ message: z.string().min(1).max(maxTaskMessageLength) })

/**
 * The sample handler. The boilerplate's version slept 5 s to look like work; a Worker pays for
 * wall time it spends idle, so this one answers at once.
 */
export async function runEcho(_s: Services, job: { payload: unknown }) {
  const parsed = EchoPayload.safeParse(job.payload)
  // A payload that does not parse will not parse on a retry either.
  if (!parsed.success) throw new PermanentJobError('payload.message must be a non-empty string')
  return { message: parsed.data.message, summary: `Task ${parsed.data.message} is complete!` }
}

/**
 * Queue a sample task owned by the caller.
 *
 * @example
 * const { id } = await createEchoTask(s, caller.userId, 'hello')
 */
export function createEchoTask(s: Services, ownerId: string, message: string): Promise<{ id: string }> {
  return enqueueJob(s, { type: echoJobType, ownerId, payload: { message } })
}

export type TaskRow = typeof jobs.$inferSelect

/**
 * A job as its reader may see it: the owner's own, or any job for an admin. Everyone else gets
 * null, exactly as for an id that does not exist, so ids cannot be probed.
 *
 * @example
 * const job = await readJobFor(s, id, caller)
 * if (!job) throw new ApiError('not_found', 'No task with that id')
 */
export async function readJobFor(
  s: Services,
  id: string,
  caller: Pick<Caller, 'userId' | 'role'>,
): Promise<TaskRow | null> {
  const [row] = await s.database.db
    .select()
    .from(jobs)
    .where(caller.role === 'admin' ? eq(jobs.id, id) : and(eq(jobs.id, id), eq(jobs.ownerId, caller.userId)))
  return row ?? null
}
