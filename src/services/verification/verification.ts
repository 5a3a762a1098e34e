import { and, eq, or, sql } from 'drizzle-orm'
import { jobs, photos, profiles, selfieHashes, verificationStatus, verifications } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { queueImageDeletions } from '../media/media-objects'
import { storeSelfie } from '../media/selfies'
import { type LimitRule, enforceLimits } from '../platform/rate-limit'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/**
 * AI selfie verification (a job on the jobs queue).
 *
 * Life of an attempt, one row per member in `verifications`:
 * 1. `PUT /me/verification/selfie` stores the selfie as `450-<id>.jpg` and (re)starts the
 *    attempt in `uploading-photo`. A selfie whose SHA-256 another member already used is refused,
 *    so one face photo cannot verify two accounts; the same member may send theirs again.
 * 2. `POST /me/verification` moves it to `queued` (8 a day) and queues a `verification.run` job;
 *    the row's `job_id` names the job allowed to write its outcome.
 * 3. The job moves it to `running`, sends the selfie (detail high) and the member's photos
 *    (detail low) to the chat-completions API in JSON mode, and applies the
 *    probability thresholds: `success` sets the profile's verification level and verified flags,
 *    `failure` keeps a message the member can act on. Transient upstream trouble (429, 5xx,
 *    timeouts, malformed answers) puts it back to `queued` and the queue retries with backoff;
 *    when the job finally gives up, the final-failure hook settles it as `failure` with a
 *    "try again later" message, and then it may be requested again without a new selfie.
 * 4. After three days the row (and through a trigger the selfie object) is deleted by cron; the
 *    profile's verification level stays.
 *
 * Every write of the job is conditional on `job_id` and the status it expects, so a replaced
 * selfie, a redelivered message or a duplicate consumer can never overwrite a newer attempt.
 */

export const verificationJobType = 'verification.run'
/** An attempt (and its selfie) lives three days from upload or request . */
export const verificationLifetimeMs = 3 * 86_400_000
/** A `running` attempt untouched this long has lost its consumer (a Worker runs ≤ 15 min). */
export const abandonedRunningMs = 3_600_000
export const verificationRequestLimit: LimitRule = {
  name: 'verification-request',
  limit: 8,
  periodSeconds: 86_400,
}

/** Thresholds (tuned for gpt-4.1): a claim passes at or above its value. */
export const verificationThresholds = {
  photograph: 0.7,
  notScreenshot: 0.7,
  notEdited: 0.8,
  atLeastOnePerson: 0.7,
  exactlyOnePerson: 0.7,
  claimedGender: 0.5,
  claimedEthnicity: 0.4,
  claimedAge: 0.5,
  adult: 0.8,
  smiling: 0.7,
  eyebrowTouch: 0.7,
  thumbsDown: 0.7,
  /** A profile photo is verified when the selfie's person appears in it with this probability. */
  samePersonInPhoto: 0.9,
} as const

/** What the member is told while the attempt is pending. */
export const progressMessages = {
  'uploading-photo': 'Selfie received. Request verification when you are ready.',
  queued: 'Waiting in line for the selfie checker.',
  running: 'Our AI is checking your selfie.',
  retrying: 'Our selfie checker is busy. We will try again in a moment.',
} as const

/** Why an attempt failed (stable codes for clients) and what the member is told. */
export const failureMessages = {
  'not-a-photo': "Our AI thinks your selfie isn't a real photo.",
  screenshot: 'Our AI thinks your selfie is a screenshot.',
  edited: 'Our AI thinks your selfie might have been edited.',
  'no-person': "Our AI couldn't find a person in your selfie.",
  'several-people': "Our AI thinks there's more than one person in your selfie.",
  gender: "Our AI couldn't verify your gender. Check the gender on your profile.",
  ethnicity:
    "Our AI couldn't verify your ethnicity. Check the ethnicity on your profile, or leave it unanswered.",
  age: "Our AI couldn't verify your age. Check the date of birth on your profile.",
  'under-18': "Our AI couldn't verify that you're 18 or older.",
  'not-smiling': "Our AI thinks you're not smiling.",
  'no-eyebrow-touch': "Our AI thinks you're not touching your eyebrow.",
  'no-thumbs-down': "Our AI thinks you're not giving a thumbs down.",
  refused: "Our AI couldn't check this selfie. Please take another one.",
  'selfie-missing': "We couldn't find your selfie. Please upload it again.",
  'profile-incomplete': 'Add your date of birth and gender to your profile, then try again.',
  unavailable: "We couldn't check your selfie right now. Please try again later.",
} as const

export type FailureReason = keyof typeof failureMessages
export const failureReasons = Object.keys(failureMessages) as [FailureReason, ...FailureReason[]]
/** The stored statuses, plus `none` for a member with no live attempt. */
export const verificationStatuses = ['none', ...verificationStatus.enumValues] as const

export interface VerificationState {
  /** `none`: no live attempt (never started, or the last one expired). */
  status: (typeof verificationStatuses)[number]
  message: string | null
  reason: FailureReason | null
  expiresAt: Date | null
  verificationLevel: 'none' | 'basics' | 'photos'
  verifiedAge: boolean
  verifiedGender: boolean
  verifiedEthnicity: boolean
  /** Photo position → verified. */
  verifiedPhotos: Record<string, boolean>
}

/** What `verifications.result` holds: kept for support questions and to tell reasons apart. */
export interface StoredResult {
  reason?: FailureReason
  /** The model's answer as parsed (probabilities). */
  answer?: Record<string, unknown>
  verifiedPhotoIds?: string[]
  model?: string
  error?: string
}

// ---------------------------------------------------------------------------------------------
// Member-facing operations

async function requireOnboardedProfile(s: Services, userId: string) {
  const [profile] = await s.database.db
    .select({ onboardedAt: profiles.onboardedAt })
    .from(profiles)
    .where(eq(profiles.userId, userId))
  if (!profile?.onboardedAt) {
    throw new ApiError('onboarding_required', 'Finish onboarding before verifying your profile')
  }
}

const reasonOf = (result: unknown): FailureReason | null => {
  const reason = (result as StoredResult | null)?.reason
  return reason && reason in failureMessages ? reason : null
}

/**
 * The caller's verification: the live attempt (or `none`) and what the profile holds now.
 *
 * @example
 * const state = await readVerification(s, caller.userId)
 * if (state.status === 'failure') show(state.message)
 */
export async function readVerification(s: Services, userId: string): Promise<VerificationState> {
  const db = s.database.db
  const [[profile], [attempt], photoRows] = await db.batch([
    db
      .select({
        onboardedAt: profiles.onboardedAt,
        verificationLevel: profiles.verificationLevel,
        verifiedAge: profiles.verifiedAge,
        verifiedGender: profiles.verifiedGender,
        verifiedEthnicity: profiles.verifiedEthnicity,
      })
      .from(profiles)
      .where(eq(profiles.userId, userId)),
    db.select().from(verifications).where(eq(verifications.userId, userId)),
    db
      .select({ position: photos.position, verified: photos.verified })
      .from(photos)
      .where(and(eq(photos.userId, userId), sql`${photos.position} > 0`)),
  ])
  if (!profile?.onboardedAt) {
    throw new ApiError('onboarding_required', 'Finish onboarding before verifying your profile')
  }
  return {
    status: attempt?.status ?? 'none',
    message: attempt?.message ?? null,
    reason: attempt?.status === 'failure' ? reasonOf(attempt.result) : null,
    expiresAt: attempt?.expiresAt ?? null,
    verificationLevel: profile.verificationLevel,
    verifiedAge: profile.verifiedAge,
    verifiedGender: profile.verifiedGender,
    verifiedEthnicity: profile.verifiedEthnicity,
    verifiedPhotos: Object.fromEntries(
      photoRows.sort((a, b) => a.position - b.position).map((p) => [String(p.position), p.verified]),
    ),
  }
}

/** SHA-256 hex of the uploaded bytes: the same digest `storeSelfie` reports. */
async function digestHex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('')
}

const selfieReused = () =>
  new ApiError('selfie_reused', 'This selfie was already used by another account; take a new one', {
    errors: [{ path: 'body', message: 'Selfie already used by another account' }],
  })

/**
 * Store a new verification selfie and (re)start the caller's attempt in `uploading-photo`,
 * replacing any previous attempt (its selfie object is queued for deletion by a trigger). A
 * selfie another member used is refused with 409 `selfie_reused`, and nothing is left behind.
 *
 * @example
 * const state = await uploadSelfie(s, caller.userId, await readUpload(c))
 */
export async function uploadSelfie(
  s: Services,
  userId: string,
  bytes: Uint8Array,
): Promise<VerificationState> {
  await requireOnboardedProfile(s, userId)
  const db = s.database.db
  // Cheap early refusal before anything is rendered or stored; the insert below is the real guard.
  const [earlier] = await db
    .select({ userId: selfieHashes.userId })
    .from(selfieHashes)
    .where(eq(selfieHashes.hash, await digestHex(bytes)))
  if (earlier && earlier.userId !== userId) throw selfieReused()

  const { selfieId, hash } = await storeSelfie(s, userId, bytes)
  let recorded = false
  try {
    // Two members racing with the same file: the primary key lets exactly one of them own it.
    await db.insert(selfieHashes).values({ hash, userId }).onConflictDoNothing()
    const [owner] = await db
      .select({ userId: selfieHashes.userId })
      .from(selfieHashes)
      .where(eq(selfieHashes.hash, hash))
    if (owner?.userId !== userId) throw selfieReused()
    const now = s.clock.now()
    const attempt = {
      status: 'uploading-photo' as const,
      selfieId,
      selfieHash: hash,
      message: progressMessages['uploading-photo'],
      jobId: null,
      result: null,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + verificationLifetimeMs),
    }
    await db
      .insert(verifications)
      .values({ userId, ...attempt, createdAt: now })
      .onConflictDoUpdate({ target: verifications.userId, set: attempt })
    recorded = true
  } finally {
    // The object was written but no row points at it: hand it to the storage clean-up.
    if (!recorded) await queueImageDeletions(s, [`450-${selfieId}.jpg`])
  }
  return readVerification(s, userId)
}

/** A new attempt may be requested after upload, or after a failure that was ours, not the selfie's. */
const requestableCondition = or(
  eq(verifications.status, 'uploading-photo'),
  and(eq(verifications.status, 'failure'), sql`${verifications.result} ->> 'reason' = 'unavailable'`),
)

/**
 * Request verification of the uploaded selfie: 503 when no OpenAI key is configured, 409 without
 * a selfie or while an attempt is already queued/running/finished, 429 after 8 requests in a day.
 * Queues the job and answers the new state, plus the rate-limit headers for the response.
 *
 * @example
 * const { state, headers } = await requestVerification(s, caller.userId)
 */
export async function requestVerification(
  s: Services,
  userId: string,
): Promise<{ state: VerificationState; headers: Record<string, string> }> {
  if (!s.config.openai.apiKey) {
    throw new ApiError('service_unavailable', 'Selfie verification is not available on this server')
  }
  await requireOnboardedProfile(s, userId)
  const db = s.database.db
  const [attempt] = await db.select().from(verifications).where(eq(verifications.userId, userId))
  if (!attempt) throw new ApiError('conflict', 'Upload a verification selfie first')
  const retryable = attempt.status === 'failure' && reasonOf(attempt.result) === 'unavailable'
  if (attempt.status !== 'uploading-photo' && !retryable) {
    throw new ApiError(
      'conflict',
      attempt.status === 'queued' || attempt.status === 'running'
        ? 'Verification of this selfie is already under way'
        : 'This selfie was already checked; upload a new one to try again',
    )
  }
  // Counted only for requests that will reach the model: a 409 costs the member nothing.
  const { headers } = await enforceLimits(s, [[verificationRequestLimit, `user:${userId}`]])

  const jobId = crypto.randomUUID()
  const now = s.clock.now()
  // The job row and the attempt's link to it commit together, before the message is sent, so a
  // consumer never sees a job whose attempt does not name it (enqueueJob sends right after its
  // insert, with no room for the conditional update in between).
  await s.database.transaction(async (tx) => {
    await tx.insert(jobs).values({
      id: jobId,
      type: verificationJobType,
      ownerId: userId,
      payload: { userId, selfieId: attempt.selfieId },
    })
    const [queued] = await tx
      .update(verifications)
      .set({
        status: 'queued',
        jobId,
        message: progressMessages.queued,
        result: null,
        updatedAt: now,
        expiresAt: new Date(now.getTime() + verificationLifetimeMs),
      })
      .where(
        and(
          eq(verifications.userId, userId),
          eq(verifications.selfieId, attempt.selfieId),
          requestableCondition,
        ),
      )
      .returning({ userId: verifications.userId })
    // Another request or a new upload got there first; the rollback takes the job row with it.
    if (!queued) throw new ApiError('conflict', 'Your verification changed meanwhile; reload and try again')
  })
  try {
    await s.env.JOBS.send({ jobId, type: verificationJobType })
  } catch (err) {
    s.log.error('verification.enqueue_failed', { jobId, error: describeError(err) })
    await db.batch([
      db
        .update(verifications)
        .set({
          status: attempt.status,
          message: attempt.message,
          result: attempt.result,
          jobId: attempt.jobId,
          updatedAt: s.clock.now(),
        })
        .where(and(eq(verifications.userId, userId), eq(verifications.jobId, jobId))),
      db
        .update(jobs)
        .set({
          status: 'failed',
          error: 'could not be queued',
          finishedAt: s.clock.now(),
          updatedAt: s.clock.now(),
        })
        .where(eq(jobs.id, jobId)),
    ])
    throw new ApiError('service_unavailable', 'Verification could not be queued; try again in a moment', {
      cause: err,
    })
  }
  return { state: await readVerification(s, userId), headers }
}
