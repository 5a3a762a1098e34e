import { and, eq, inArray, lt, ne, or, sql } from 'drizzle-orm'
import { z } from 'zod'
import { deleteBounded } from '../../db/bounded-delete'
import {
  type genderValues,
  type ethnicityValues,
  jobs,
  photos,
  profiles,
  selfieHashes,
  verifications,
} from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { ageOn } from '../search/geo'
import { sha256Hex } from '../../lib/crypto'
import {
  PermanentJobError,
  RetryLaterError,
  type JobContext,
  jobFinalFailureHandlers,
  jobHandlers,
} from '../platform/jobs'
import { listPhotos, queueImageDeletions, storeSelfie } from '../media/photos'
import { type LimitRule, enforceLimits } from '../rate-limit'
import type { Services } from '..'
import { describeError } from '../../lib/log'

/**
 * AI selfie verification (the reference's `verification_job` and verificationjobrunner, moved
 * onto the jobs queue).
 *
 * Life of an attempt, one row per member in `verifications`:
 * 1. `PUT /me/verification/selfie` stores the selfie as `450-<id>.jpg` and (re)starts the
 *    attempt in `uploading-photo`. A selfie whose SHA-256 another member already used is refused,
 *    so one face photo cannot verify two accounts; the same member may send theirs again.
 * 2. `POST /me/verification` moves it to `queued` (8 a day) and queues a `verification.run` job;
 *    the row's `job_id` names the job allowed to write its outcome.
 * 3. The job moves it to `running`, sends the selfie (detail high) and the member's photos
 *    (detail low) to the chat-completions API in JSON mode, and applies the reference's
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
/** An attempt (and its selfie) lives three days from upload or request (the reference's rule). */
export const verificationLifetimeMs = 3 * 86_400_000
/** A `running` attempt untouched this long has lost its consumer (a Worker runs ≤ 15 min). */
export const abandonedRunningMs = 3_600_000
export const verificationRequestLimit: LimitRule = {
  name: 'verification-request',
  limit: 8,
  periodSeconds: 86_400,
}

/** The reference's thresholds (tuned for gpt-4.1): a claim passes at or above its value. */
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
export const verificationStatuses = [
  'none',
  'uploading-photo',
  'queued',
  'running',
  'success',
  'failure',
] as const

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
interface StoredResult {
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

// ---------------------------------------------------------------------------------------------
// The model request

const genderLabels: Record<(typeof genderValues)[number], string> = {
  man: 'Man',
  woman: 'Woman',
  agender: 'Agender',
  intersex: 'Intersex',
  'non-binary': 'Non-binary',
  transgender: 'Transgender',
  'trans-woman': 'Trans woman',
  'trans-man': 'Trans man',
  other: 'Other',
}

const ethnicityLabels: Record<(typeof ethnicityValues)[number], string> = {
  'black-african-descent': 'Black/African Descent',
  'east-asian': 'East Asian',
  'hispanic-latino': 'Hispanic/Latino',
  'middle-eastern': 'Middle Eastern',
  'native-american': 'Native American',
  'pacific-islander': 'Pacific Islander',
  'south-asian': 'South Asian',
  'southeast-asian': 'Southeast Asian',
  'white-caucasian': 'White/Caucasian',
  other: 'Other',
}

export interface Claims {
  age: number
  gender: (typeof genderValues)[number]
  ethnicity: (typeof ethnicityValues)[number] | null
}

/** The model's answer key for "the selfie's person appears in the n-th photo" (photo 0 = image #2). */
export const samePersonKey = (photoIndex: number) => `image_1_has_person_from_image_${photoIndex + 2}`

/**
 * The system prompt: every claim the model must give a probability for, as a typed JSON shape
 * (the form the reference found the model follows most reliably).
 */
export function verificationPrompt(claims: Claims, photoCount: number): string {
  const lines = [
    'A member of a dating site is verifying their identity. Image #1 is a selfie they took for this purpose;',
    'any further images are the photos on their profile. For each claim below, estimate the probability',
    '(0.0 to 1.0) that it is true, and answer with a single JSON object of exactly this shape:',
    '',
    '```typescript',
    '{',
    '  // Image #1 is a photograph (not a drawing, render or AI-generated image)',
    '  image_1_is_photograph: number',
    '  // Image #1 shows no sign of being a screenshot or a photo of a screen',
    '  image_1_is_not_screenshot: number',
    '  // Image #1 was not edited (no filters, retouching or compositing)',
    '  image_1_was_not_edited: number',
    '  // Image #1 contains at least one person',
    '  image_1_has_at_least_one_person: number',
    '  // Image #1 contains exactly one person',
    '  image_1_has_exactly_one_person: number',
    `  // The person in image #1 has this gender: ${genderLabels[claims.gender]}. The member chose it from:`,
    `  // ${Object.values(genderLabels).join(', ')}. In equivocal cases, prefer probabilities near 1.0.`,
    '  image_1_has_claimed_gender: number',
    `  // The person in image #1 is ${claims.age} years old`,
    '  image_1_has_claimed_age: number',
    '  // The person in image #1 is 18 years old or older',
    '  image_1_has_claimed_minimum_age: number',
  ]
  if (claims.ethnicity) {
    lines.push(
      `  // The primary or only ethnicity of the person in image #1 is: ${ethnicityLabels[claims.ethnicity]}.`,
      `  // The member chose it from: ${Object.values(ethnicityLabels).join(', ')}.`,
      '  // In equivocal cases, prefer probabilities near 1.0.',
      '  image_1_has_claimed_ethnicity: number',
    )
  }
  lines.push(
    '  // The person in image #1 is smiling',
    '  image_1_has_smiling_person: number',
    '  // A hand of the person in image #1 touches their eyebrow or the face next to it (e.g. the forehead)',
    '  image_1_has_eyebrow_touch: number',
    '  // The person in image #1 gives a thumbs down (thumb visible, pointing downward)',
    '  image_1_has_downward_thumb: number',
  )
  for (let i = 0; i < photoCount; i++) {
    lines.push(`  // The person in image #1 also appears in image #${i + 2}`, `  ${samePersonKey(i)}: number`)
  }
  lines.push('}', '```')
  return lines.join('\n')
}

/**
 * Bytes as a `data:` URL: the model receives the images inline, so no bucket has to be public
 * and no URL can leak. Built in chunks, since spreading a large array into fromCharCode overflows
 * the stack.
 */
function dataUrl(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return `data:image/jpeg;base64,${btoa(binary)}`
}

/**
 * The member's id as OpenAI's `safety_identifier`: hashed, as OpenAI recommends, so abuse
 * reports can name a member without the request carrying our id. Tests use it to script the
 * fake OpenAI per member.
 *
 * @example
 * const id = await safetyIdentifier(userId) // 64 hex chars
 */
export function safetyIdentifier(userId: string): Promise<string> {
  return sha256Hex(`rapport-verification:${userId}`)
}

/** The chat-completions request body for one attempt. */
export async function verificationRequestBody(
  s: Services,
  input: { userId: string; claims: Claims; selfie: Uint8Array; photos: Uint8Array[] },
) {
  const content: unknown[] = [
    { type: 'text', text: 'Image #1:' },
    { type: 'image_url', image_url: { url: dataUrl(input.selfie), detail: 'high' } },
  ]
  input.photos.forEach((bytes, i) => {
    content.push(
      { type: 'text', text: `Image #${i + 2}:` },
      { type: 'image_url', image_url: { url: dataUrl(bytes), detail: 'low' } },
    )
  })
  return {
    model: s.config.openai.model,
    response_format: { type: 'json_object' },
    temperature: 0,
    max_tokens: 500,
    safety_identifier: await safetyIdentifier(input.userId),
    messages: [
      { role: 'system', content: verificationPrompt(input.claims, input.photos.length) },
      { role: 'user', content },
    ],
  }
}

const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable(), refusal: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
})

/** Seconds to wait as the upstream asked (`retry-after-ms`, `retry-after` in seconds or as a date), if sane. */
export function parseRetryAfter(headers: Headers, now: Date): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN)
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000
  const value = headers.get('retry-after')
  if (value === null) return undefined
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(value)
    ? Number(value)
    : (Date.parse(value) - now.getTime()) / 1000
  // Negative, unparseable or more than a day: not advice worth following.
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 86_400 ? seconds : undefined
}

/** Transient: the queue retries the job with backoff. */
class TransientUpstreamError extends Error {
  override name = 'TransientUpstreamError'
}

/** The answer from the model: its JSON text, or its refusal. */
type ModelAnswer = { content: string; model?: string } | { refusal: string }

/**
 * One chat-completions call. Throws a retryable error for 408/409/429/5xx (as OpenAI's own SDKs
 * retry), network failures, timeouts and unreadable bodies — a {@link RetryLaterError} when the
 * answer said how long to wait — and a {@link PermanentJobError} for any other 4xx (a bad key, a
 * bad request: retrying cannot help).
 */
async function askModel(s: Services, body: unknown): Promise<ModelAnswer> {
  const { apiKey, baseUrl, timeoutMs } = s.config.openai
  if (!apiKey) throw new PermanentJobError('OPENAI_API_KEY is not configured')
  let res: Response
  try {
    res = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new TransientUpstreamError(`OpenAI did not answer within ${timeoutMs} ms`)
    }
    throw new TransientUpstreamError(`OpenAI request failed: ${String(err)}`)
  }
  let text: string
  try {
    text = await res.text()
  } catch (err) {
    throw new TransientUpstreamError(`OpenAI answer could not be read: ${String(err)}`)
  }
  if (!res.ok) {
    let detail = text.slice(0, 300)
    try {
      detail = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? detail
    } catch {
      // Not JSON (a proxy's HTML error page): keep the raw start.
    }
    const message = `OpenAI answered ${res.status}: ${detail}`
    if (res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500) {
      const retryAfter = parseRetryAfter(res.headers, s.clock.now())
      throw retryAfter === undefined
        ? new TransientUpstreamError(message)
        : new RetryLaterError(message, retryAfter)
    }
    throw new PermanentJobError(message)
  }
  let completion: z.infer<typeof CompletionSchema>
  try {
    completion = CompletionSchema.parse(JSON.parse(text))
  } catch {
    throw new TransientUpstreamError('OpenAI answered 200 with a body that is not a chat completion')
  }
  const message = completion.choices[0]!.message
  if (message.refusal) return { refusal: message.refusal }
  if (message.content === null) throw new TransientUpstreamError('OpenAI answered with no content')
  return { content: message.content, model: completion.model }
}

const probability = z.number().min(0).max(1)
const AnswerSchema = z.object({
  image_1_is_photograph: probability,
  image_1_is_not_screenshot: probability,
  image_1_was_not_edited: probability,
  image_1_has_at_least_one_person: probability,
  image_1_has_exactly_one_person: probability,
  image_1_has_claimed_gender: probability,
  image_1_has_claimed_age: probability,
  image_1_has_claimed_minimum_age: probability,
  image_1_has_claimed_ethnicity: probability.optional(),
  image_1_has_smiling_person: probability,
  image_1_has_eyebrow_touch: probability,
  image_1_has_downward_thumb: probability,
})
type Answer = z.infer<typeof AnswerSchema>

export type Verdict =
  | { ok: true; verifiedPhotoIndexes: number[]; answer: Record<string, unknown> }
  | { ok: false; reason: FailureReason; answer: Record<string, unknown> }

/**
 * Parse the model's JSON and apply the thresholds, in the reference's order, so the member hears
 * about the first thing to fix. Throws when the answer is not the JSON asked for (a missing or
 * out-of-range probability, the ethnicity claim missing when one was made): that is transient.
 *
 * @example
 * judgeAnswer('{"image_1_is_photograph": 0.2, …}', { age: 30, gender: 'woman', ethnicity: null }, 0)
 * // { ok: false, reason: 'not-a-photo', … }
 */
export function judgeAnswer(content: string, claims: Claims, photoCount: number): Verdict {
  let raw: unknown
  try {
    raw = JSON.parse(content)
  } catch {
    throw new TransientUpstreamError('the model answered with malformed JSON')
  }
  const parsed = AnswerSchema.safeParse(raw)
  if (!parsed.success) {
    throw new TransientUpstreamError(`the model's JSON lacks claims: ${z.prettifyError(parsed.error)}`)
  }
  const a: Answer = parsed.data
  if (claims.ethnicity && a.image_1_has_claimed_ethnicity === undefined) {
    throw new TransientUpstreamError("the model's JSON lacks image_1_has_claimed_ethnicity")
  }
  const photoScores: number[] = []
  for (let i = 0; i < photoCount; i++) {
    const value = (raw as Record<string, unknown>)[samePersonKey(i)]
    // A photo the model said nothing about is simply not verified; a nonsense value is malformed.
    if (value === undefined || value === null) photoScores.push(0)
    else if (probability.safeParse(value).success) photoScores.push(value as number)
    else throw new TransientUpstreamError(`the model's ${samePersonKey(i)} is not a probability`)
  }
  const answer = raw as Record<string, unknown>
  const t = verificationThresholds
  const checks: [FailureReason, boolean][] = [
    ['not-a-photo', a.image_1_is_photograph >= t.photograph],
    ['screenshot', a.image_1_is_not_screenshot >= t.notScreenshot],
    ['edited', a.image_1_was_not_edited >= t.notEdited],
    ['no-person', a.image_1_has_at_least_one_person >= t.atLeastOnePerson],
    ['several-people', a.image_1_has_exactly_one_person >= t.exactlyOnePerson],
    ['gender', a.image_1_has_claimed_gender >= t.claimedGender],
    ['ethnicity', !claims.ethnicity || (a.image_1_has_claimed_ethnicity ?? 0) >= t.claimedEthnicity],
    ['age', a.image_1_has_claimed_age >= t.claimedAge],
    ['under-18', a.image_1_has_claimed_minimum_age >= t.adult],
    ['not-smiling', a.image_1_has_smiling_person >= t.smiling],
    ['no-eyebrow-touch', a.image_1_has_eyebrow_touch >= t.eyebrowTouch],
    ['no-thumbs-down', a.image_1_has_downward_thumb >= t.thumbsDown],
  ]
  const failed = checks.find(([, passed]) => !passed)
  if (failed) return { ok: false, reason: failed[0], answer }
  return {
    ok: true,
    verifiedPhotoIndexes: photoScores.flatMap((p, i) => (p >= t.samePersonInPhoto ? [i] : [])),
    answer,
  }
}

// ---------------------------------------------------------------------------------------------
// The job

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
async function settleGaveUp(s: Services, job: Omit<JobContext, 'attempt'>, error: string): Promise<void> {
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

// Registered at module load: the Worker entry imports this module so any isolate can run the job.
jobHandlers.set(verificationJobType, runVerification)
jobFinalFailureHandlers.set(verificationJobType, settleGaveUp)

// ---------------------------------------------------------------------------------------------
// Expiry

/**
 * Delete attempts past `expires_at`, at most `batchSize` per call; the trigger queues each
 * selfie for deletion from R2. A `running` attempt is left to finish, unless nothing has touched
 * it for an hour (its consumer is gone: a Worker invocation cannot run that long).
 *
 * @example
 * const n = await expireVerifications(s, { batchSize: 500 })
 */
export async function expireVerifications(s: Services, opts: { batchSize: number }): Promise<number> {
  const now = s.clock.now()
  return deleteBounded(
    s.database.db,
    verifications,
    verifications.userId,
    and(
      lt(verifications.expiresAt, now),
      or(
        ne(verifications.status, 'running'),
        lt(verifications.updatedAt, new Date(now.getTime() - abandonedRunningMs)),
      ),
    ),
    opts.batchSize,
  )
}
