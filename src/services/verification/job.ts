import { and, eq, inArray, sql } from 'drizzle-orm'
import { z } from 'zod'
import { photos, profiles, verifications } from '../../db/schema'
import { ageOn } from '../search/geo'
import { PermanentJobError, type JobContext } from '../platform/jobs'
import { listPhotos } from '../media/photos'
import type { Services } from '..'
import { progressMessages, failureMessages, type FailureReason, type StoredResult } from './verification'
import { type Claims, verificationRequestBody, askModel } from './model'
import { type Verdict, judgeAnswer } from './verdict'

/**
 * The `verification.run` job: ask the model, then settle the attempt it owns (and the final-failure hook).
 */

const PayloadSchema = z.object({ userId: z.uuid(), selfieId: z.string().regex(/^[0-9a-f]{64}$/) })

const attemptOf = (userId: string, jobId: string) =>
  and(eq(verifications.userId, userId), eq(verifications.jobId, jobId))

/**
 * Write the outcome, only if this job still owns a `running` attempt; on success also the
 * profile's level and flags and each sent photo's `verified`, in one transaction. Photos replaced
 * or added while the model was thinking are not touched (their ids were not sent).
 */
async function settleAttempt(
  s: Services,
  job: { userId: string; jobId: string },
  outcome:
    | { status: 'failure'; reason: FailureReason; result: StoredResult }
    | {
        status: 'success'
        /** What the model checked: a field edited while the job ran is not marked verified. */
        claims: Claims
        ethnicityVerified: boolean
        sentPhotoIds: string[]
        verifiedPhotoIds: string[]
        result: StoredResult
      },
): Promise<boolean> {
  const now = s.clock.now()
  return s.database.transaction(async (tx) => {
    const [settled] = await tx
      .update(verifications)
      .set({
        status: outcome.status,
        message: outcome.status === 'failure' ? failureMessages[outcome.reason] : null,
        result: outcome.status === 'failure' ? { ...outcome.result, reason: outcome.reason } : outcome.result,
        updatedAt: now,
      })
      .where(and(attemptOf(job.userId, job.jobId), eq(verifications.status, 'running')))
      .returning({ userId: verifications.userId })
    if (!settled || outcome.status === 'failure') return Boolean(settled)
    await tx
      .update(profiles)
      .set({
        // Basics (and so any level) rest on the gender the model saw; if the member changed it
        // while the job ran, nothing about gender is verified.
        verificationLevel: sql`case when ${profiles.gender} = ${outcome.claims.gender} then ${
          outcome.verifiedPhotoIds.length > 0 ? 'photos' : 'basics'
        } else 'none' end::verification_level`,
        verifiedAge: true,
        verifiedGender: sql`${profiles.gender} = ${outcome.claims.gender}`,
        verifiedEthnicity: outcome.ethnicityVerified
          ? sql`${profiles.ethnicity} is not distinct from ${outcome.claims.ethnicity}`
          : false,
        updatedAt: now,
      })
      .where(eq(profiles.userId, job.userId))
    if (outcome.sentPhotoIds.length > 0) {
      await tx
        .update(photos)
        .set({
          verified:
            outcome.verifiedPhotoIds.length > 0 ? inArray(photos.id, outcome.verifiedPhotoIds) : sql`false`,
        })
        .where(and(eq(photos.userId, job.userId), inArray(photos.id, outcome.sentPhotoIds)))
    }
    return true
  })
}

/**
 * The `verification.run` job. Idempotent: it acts only while the attempt names this job and is
 * `queued`/`running`; a redelivery after the outcome was written answers that outcome without
 * calling the model again, and an attempt replaced by a new selfie is left alone.
 */
export async function runVerification(s: Services, job: JobContext): Promise<unknown> {
  const payload = PayloadSchema.safeParse(job.payload)
  if (!payload.success || job.ownerId !== payload.data.userId) {
    throw new PermanentJobError('payload must be {userId, selfieId} of the job owner')
  }
  const { userId } = payload.data
  const db = s.database.db
  const [claimed] = await db
    .update(verifications)
    .set({ status: 'running', message: progressMessages.running, updatedAt: s.clock.now() })
    .where(and(attemptOf(userId, job.id), inArray(verifications.status, ['queued', 'running'])))
    .returning({ selfieId: verifications.selfieId })
  if (!claimed) {
    const [current] = await db
      .select({ status: verifications.status, jobId: verifications.jobId })
      .from(verifications)
      .where(eq(verifications.userId, userId))
    if (current?.jobId === job.id) return { status: current.status, redelivered: true }
    return { superseded: true }
  }
  const ids = { userId, jobId: job.id }
  const fail = async (reason: FailureReason, result: StoredResult = {}) => {
    await settleAttempt(s, ids, { status: 'failure', reason, result })
    return { status: 'failure', reason }
  }

  const [profile] = await db
    .select({ dateOfBirth: profiles.dateOfBirth, gender: profiles.gender, ethnicity: profiles.ethnicity })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  if (!profile?.dateOfBirth || !profile.gender) return fail('profile-incomplete')
  const claims: Claims = {
    age: ageOn(profile.dateOfBirth, s.clock.now()),
    gender: profile.gender,
    ethnicity: profile.ethnicity,
  }

  const selfieObject = await s.env.IMAGES_BUCKET.get(`450-${claimed.selfieId}.jpg`)
  if (!selfieObject) return fail('selfie-missing')
  const selfie = new Uint8Array(await selfieObject.arrayBuffer())
  // The photos as they are now; one deleted since it was listed is simply left out.
  const loaded = await Promise.all(
    (await listPhotos(s, userId))
      .filter((p) => p.position > 0)
      .map(async (p) => {
        const object = await s.env.IMAGES_BUCKET.get(`450-${p.id}.jpg`)
        return object ? { id: p.id, bytes: new Uint8Array(await object.arrayBuffer()) } : null
      }),
  )
  const sent = loaded.filter((p) => p !== null)

  let verdict: Verdict
  let model: string | undefined
  try {
    const body = await verificationRequestBody(s, {
      userId,
      claims,
      selfie,
      photos: sent.map((p) => p.bytes),
    })
    const answer = await askModel(s, body)
    if ('refusal' in answer) return fail('refused', { error: answer.refusal })
    model = answer.model
    verdict = judgeAnswer(answer.content, claims, sent.length)
  } catch (err) {
    if (!(err instanceof PermanentJobError)) {
      // Pollers see the attempt waiting again while the queue backs off.
      await db
        .update(verifications)
        .set({ status: 'queued', message: progressMessages.retrying, updatedAt: s.clock.now() })
        .where(and(attemptOf(userId, job.id), eq(verifications.status, 'running')))
    }
    throw err
  }

  if (!verdict.ok) {
    s.log.info('verification.failed', { userId, jobId: job.id, reason: verdict.reason })
    return fail(verdict.reason, { answer: verdict.answer, model })
  }
  const verifiedPhotoIds = verdict.verifiedPhotoIndexes.map((i) => sent[i]!.id)
  const settled = await settleAttempt(s, ids, {
    status: 'success',
    claims,
    ethnicityVerified: claims.ethnicity !== null,
    sentPhotoIds: sent.map((p) => p.id),
    verifiedPhotoIds,
    result: { answer: verdict.answer, verifiedPhotoIds, model },
  })
  if (!settled) return { superseded: true }
  s.log.info('verification.succeeded', { userId, jobId: job.id, verifiedPhotos: verifiedPhotoIds.length })
  return { status: 'success', verifiedPhotos: verifiedPhotoIds.length }
}

/**
 * The job will not run again (a permanent upstream refusal, or retries exhausted): the attempt
 * becomes a `failure` the member may simply request again later.
 */
export async function settleGaveUp(
  s: Services,
  job: Omit<JobContext, 'attempt'>,
  error: string,
): Promise<void> {
  const payload = PayloadSchema.safeParse(job.payload)
  if (!payload.success) return
  await s.database.db
    .update(verifications)
    .set({
      status: 'failure',
      message: failureMessages.unavailable,
      result: { reason: 'unavailable', error: error.slice(0, 500) } satisfies StoredResult,
      updatedAt: s.clock.now(),
    })
    .where(and(attemptOf(payload.data.userId, job.id), inArray(verifications.status, ['queued', 'running'])))
  s.log.warn('verification.gave_up', { jobId: job.id, error })
}
