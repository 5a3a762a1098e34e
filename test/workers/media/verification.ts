import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  env,
  getQueueResult,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { and, eq, inArray } from 'drizzle-orm'
import { encode as encodeJpeg } from 'jpeg-js'
import { describe, expect, it, vi } from 'vitest'
import { jobs, photos, profiles, selfieHashes, storageDeletions, verifications } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import type { JobMessage } from '../../../src/services/platform/jobs'
import { type Claims, parseRetryAfter, safetyIdentifier } from '../../../src/services/verification/model'
import { judgeAnswer } from '../../../src/services/verification/verdict'
import {
  type FailureReason,
  failureMessages,
  progressMessages,
  verificationJobType,
} from '../../../src/services/verification/verification'
import { account, call } from '../fixtures'
import { envWith, origin, problem, services } from '../helpers'
import { uniqueIp } from '../auth-helpers'

/** What scripts/local-stack/openai-fake.ts accepts and records (that file is Node-only). */
interface FakeStep {
  delayMs?: number
  content?: string
  refusal?: string
  finishReason?: 'stop' | 'length'
  error?: { status: number }
  retryAfter?: number
}
interface RecordedRequest {
  headers: { authorization: string | null }
  body: unknown
}

const s = services()
const db = s.database.db
const tag = () => crypto.randomUUID().replaceAll('-', '').slice(0, 12)
const hex64 = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')

// ---------------------------------------------------------------------------------------------
// Fixtures

/** A JPEG of an 8 × 8 grid of random colours: decodable, small, and unique per call. */
function jpeg(side = 240): Uint8Array {
  const cells = Array.from({ length: 64 }, () => Array.from(crypto.getRandomValues(new Uint8Array(3))))
  const data = new Uint8Array(side * side * 4)
  const cell = side / 8
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const [r, g, b] = cells[Math.floor(y / cell) * 8 + Math.floor(x / cell)]!
      data.set([r!, g!, b!, 255], (y * side + x) * 4)
    }
  }
  return new Uint8Array(encodeJpeg({ data, width: side, height: side }, 85).data)
}

/** An onboarded member (active account, session, finished profile). */
async function onboarded(profile: Partial<typeof profiles.$inferInsert> = {}) {
  const user = await account('member')
  await db.insert(profiles).values({
    userId: user.id,
    urlSlug: `verify-${tag()}`,
    dateOfBirth: '1994-05-17',
    gender: 'woman',
    seekingGenders: ['man'],
    onboardedAt: new Date(),
    ...profile,
  })
  return user
}

/** Photos at `positions`, as rows plus their 450 variants in the images bucket. */
async function addPhotos(userId: string, positions: number[]): Promise<string[]> {
  const ids: string[] = []
  for (const position of positions) {
    const id = hex64()
    await env.IMAGES_BUCKET.put(`450-${id}.jpg`, jpeg(90))
    await db.insert(photos).values({
      id,
      userId,
      position,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 450,
      height: 450,
      contentHash: hex64(),
    })
    ids.push(id)
  }
  return ids
}

type Member = Awaited<ReturnType<typeof onboarded>>
/** Upload a selfie (raw bytes: call() would JSON-encode them) through the real bindings. */
function put(token: string, bytes: Uint8Array) {
  return fetchWorker(
    new Request(`${origin}/api/v1/me/verification/selfie`, {
      method: 'PUT',
      headers: {
        Authorization: `Bearer ${token}`,
        'content-type': 'image/jpeg',
        'CF-Connecting-IP': uniqueIp(),
      },
      body: bytes,
    }),
  )
}

/** Call the Worker with a different env (config is parsed per env object). */
async function fetchWorker(
  request: Parameters<typeof worker.fetch>[0],
  workerEnv: Env = env as Env,
): Promise<Response> {
  const ctx = createExecutionContext()
  const res = await worker.fetch(request, workerEnv, ctx)
  await waitOnExecutionContext(ctx)
  return res
}

/**
 * An env whose JOBS queue only records what is sent, so a test delivers the job itself, with the
 * attempt numbers it wants, instead of racing the local queue's consumer and its backoff delays.
 */
function capturingEnv(overrides: Record<string, unknown> = {}) {
  const sent: JobMessage[] = []
  const JOBS = {
    send: async (body: JobMessage) => {
      sent.push(body)
    },
    sendBatch: async () => {},
  }
  return { env: envWith({ JOBS, ...overrides }), sent }
}

function request(token: string, workerEnv: Env) {
  return fetchWorker(
    new Request(`${origin}/api/v1/me/verification`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'CF-Connecting-IP': uniqueIp() },
    }),
    workerEnv,
  )
}

async function deliver(message: JobMessage, attempts: number, opts: { dlq?: boolean; env?: Env } = {}) {
  const queue = opts.dlq ? 'rapport-jobs-dlq-local' : 'rapport-jobs-local'
  const batch = createMessageBatch(queue, [
    { id: crypto.randomUUID(), timestamp: new Date(), attempts, body: message },
  ])
  // getQueueResult reports that a message was retried, not with what delay: watch the call.
  const retry = vi.spyOn(batch.messages[0]!, 'retry')
  const ctx = createExecutionContext()
  await worker.queue(batch, opts.env ?? (env as Env))
  const result = await getQueueResult(batch, ctx)
  return { ...result, retryDelays: retry.mock.calls.map(([options]) => options?.delaySeconds) }
}

const fakeBase = () => String(env.OPENAI_BASE_URL).replace(/\/v1$/, '')
const fakeAuth = () => ({ Authorization: `Bearer ${String(env.OPENAI_API_KEY)}` })

/** Script the fake OpenAI's answers for this member's requests. */
async function script(userId: string, steps: FakeStep[]) {
  const res = await fetch(`${fakeBase()}/__fake/scenarios/${await safetyIdentifier(userId)}`, {
    method: 'PUT',
    headers: { ...fakeAuth(), 'content-type': 'application/json' },
    body: JSON.stringify({ steps }),
  })
  expect(res.status).toBe(204)
}

async function modelRequests(userId: string): Promise<RecordedRequest[]> {
  const res = await fetch(`${fakeBase()}/__fake/requests/${await safetyIdentifier(userId)}`, {
    headers: fakeAuth(),
  })
  return (await res.json()) as RecordedRequest[]
}

/** A model answer passing every claim; `photos` are the same-person probabilities for images #2…. */
function answer(overrides: Record<string, number> = {}, photoScores: number[] = []) {
  const base: Record<string, number> = {
    image_1_is_photograph: 0.97,
    image_1_is_not_screenshot: 0.95,
    image_1_was_not_edited: 0.9,
    image_1_has_at_least_one_person: 0.99,
    image_1_has_exactly_one_person: 0.98,
    image_1_has_claimed_gender: 0.9,
    image_1_has_claimed_age: 0.8,
    image_1_has_claimed_minimum_age: 0.95,
    image_1_has_claimed_ethnicity: 0.85,
    image_1_has_smiling_person: 0.9,
    image_1_has_eyebrow_touch: 0.85,
    image_1_has_downward_thumb: 0.88,
  }
  photoScores.forEach((p, i) => (base[`image_1_has_person_from_image_${i + 2}`] = p))
  return JSON.stringify({ ...base, ...overrides })
}

const verificationRow = async (userId: string) =>
  (await db.select().from(verifications).where(eq(verifications.userId, userId)))[0]
const jobRow = async (id: string) => (await db.select().from(jobs).where(eq(jobs.id, id)))[0]!

async function getState(token: string) {
  const res = await call('GET', '/api/v1/me/verification', token)
  expect(res.status).toBe(200)
  return (await res.json()) as {
    status: string
    message: string | null
    reason: string | null
    expiresAt: string | null
    verificationLevel: string
    verifiedAge: boolean
    verifiedGender: boolean
    verifiedEthnicity: boolean
    verifiedPhotos: Record<string, boolean>
  }
}

/** Upload a selfie and submit it with a capturing queue: returns the job message to deliver. */
async function submitted(member: Member, overrides: Record<string, unknown> = {}) {
  expect((await put(member.token, jpeg())).status).toBe(200)
  const { env: captureEnv, sent } = capturingEnv(overrides)
  const res = await request(member.token, captureEnv)
  expect(res.status).toBe(202)
  expect(sent).toHaveLength(1)
  return { message: sent[0]!, env: captureEnv }
}

// ---------------------------------------------------------------------------------------------

describe('access', () => {
  it('answers 401 without a token on every route', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/me/verification'],
      ['POST', '/api/v1/me/verification'],
      ['PUT', '/api/v1/me/verification/selfie'],
    ] as const) {
      const res = await call(method, path)
      expect(res.status).toBe(401)
      expect((await problem(res)).code).toBe('unauthorized')
    }
  })

  it('answers 409 onboarding_required before onboarding is finished, and stores nothing', async () => {
    const notYet = await account('member')
    const draft = await account('member', { status: 'onboarding' })
    await db.insert(profiles).values({ userId: draft.id, gender: 'man' })
    for (const who of [notYet, draft]) {
      for (const res of [
        await call('GET', '/api/v1/me/verification', who.token),
        await request(who.token, env as Env),
        await put(who.token, jpeg()),
      ]) {
        expect(res.status).toBe(409)
        expect((await problem(res)).code).toBe('onboarding_required')
      }
      expect(await verificationRow(who.id)).toBeUndefined()
    }
  })
})

describe('GET /api/v1/me/verification', () => {
  it("is 'none' before any attempt, with the profile's level and flags", async () => {
    const member = await onboarded()
    await addPhotos(member.id, [1, 2])
    expect(await getState(member.token)).toEqual({
      status: 'none',
      message: null,
      reason: null,
      expiresAt: null,
      verificationLevel: 'none',
      verifiedAge: false,
      verifiedGender: false,
      verifiedEthnicity: false,
      verifiedPhotos: { '1': false, '2': false },
    })
  })
})

describe('PUT /api/v1/me/verification/selfie', () => {
  it('stores only the 450 variant and starts an attempt that expires in three days', async () => {
    const member = await onboarded()
    const res = await put(member.token, jpeg())
    expect(res.status).toBe(200)
    const body = (await res.json()) as { status: string; message: string; expiresAt: string }
    expect(body.status).toBe('uploading-photo')
    expect(body.message).toBe(progressMessages['uploading-photo'])
    const expiresIn = Date.parse(body.expiresAt) - Date.now()
    expect(expiresIn).toBeGreaterThan(3 * 86_400_000 - 60_000)
    expect(expiresIn).toBeLessThanOrEqual(3 * 86_400_000)

    const row = (await verificationRow(member.id))!
    const object = await env.IMAGES_BUCKET.get(`450-${row.selfieId}.jpg`)
    expect(object).not.toBeNull()
    expect(object!.httpMetadata?.contentType).toBe('image/jpeg')
    for (const other of [`original-${row.selfieId}.jpg`, `900-${row.selfieId}.jpg`]) {
      expect(await env.IMAGES_BUCKET.head(other)).toBeNull()
    }
    const [owner] = await db.select().from(selfieHashes).where(eq(selfieHashes.hash, row.selfieHash))
    expect(owner!.userId).toBe(member.id)
  })

  it('replaces the previous attempt and queues its selfie for deletion; the same member may reuse a selfie', async () => {
    const member = await onboarded()
    const bytes = jpeg()
    expect((await put(member.token, bytes)).status).toBe(200)
    const first = (await verificationRow(member.id))!
    const again = await put(member.token, bytes)
    expect(again.status).toBe(200)
    const second = (await verificationRow(member.id))!
    expect(second.selfieId).not.toBe(first.selfieId)
    expect(second.selfieHash).toBe(first.selfieHash)
    const queued = await db
      .select()
      .from(storageDeletions)
      .where(eq(storageDeletions.objectKey, `450-${first.selfieId}.jpg`))
    expect(queued).toHaveLength(1)
  })

  it('refuses a selfie another member used (409 selfie_reused) and leaves nothing behind', async () => {
    const owner = await onboarded()
    const other = await onboarded()
    const bytes = jpeg()
    expect((await put(owner.token, bytes)).status).toBe(200)
    const before = (await env.IMAGES_BUCKET.list({ prefix: '450-' })).objects.length
    const res = await put(other.token, bytes)
    expect(res.status).toBe(409)
    const body = await problem(res)
    expect(body.code).toBe('selfie_reused')
    expect(body.errors?.[0]?.path).toBe('body')
    expect(await verificationRow(other.id)).toBeUndefined()
    expect((await env.IMAGES_BUCKET.list({ prefix: '450-' })).objects.length).toBe(before)
  })

  it('of two members racing with one selfie, exactly one wins, and no object is left unaccounted for', async () => {
    const [a, b] = [await onboarded(), await onboarded()]
    const bytes = jpeg()
    const listKeys = async () => (await env.IMAGES_BUCKET.list({ prefix: '450-' })).objects.map((o) => o.key)
    const before = new Set(await listKeys())
    const results = await Promise.all([put(a.token, bytes), put(b.token, bytes)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 409])
    // Whichever check refused the loser (before storing, or the insert after it), every object the
    // race wrote is the winner's selfie or queued for deletion.
    const created = (await listKeys()).filter((k) => !before.has(k))
    const winner = (await db
      .select({ id: verifications.selfieId })
      .from(verifications)
      .where(inArray(verifications.userId, [a.id, b.id])))!.map((r) => `450-${r.id}.jpg`)
    expect(winner).toHaveLength(1)
    const queued =
      created.length === 0
        ? []
        : (
            await db
              .select({ key: storageDeletions.objectKey })
              .from(storageDeletions)
              .where(inArray(storageDeletions.objectKey, created))
          ).map((r) => r.key)
    for (const key of created) expect(winner.includes(key) || queued.includes(key)).toBe(true)
  })

  it('validates the upload like a photo: empty body 422, not an image 415', async () => {
    const member = await onboarded()
    const empty = await put(member.token, new Uint8Array())
    expect(empty.status).toBe(422)
    expect((await problem(empty)).errors?.[0]?.path).toBe('body')
    const text = await put(member.token, new TextEncoder().encode('definitely not a picture at all'))
    expect(text.status).toBe(415)
    expect(await verificationRow(member.id)).toBeUndefined()
  })

  it('answers 413 beyond 10 MB', async () => {
    const member = await onboarded()
    const res = await put(member.token, new Uint8Array(10 * 1024 * 1024 + 1))
    expect(res.status).toBe(413)
    expect((await problem(res)).code).toBe('payload_too_large')
  })
})

describe('POST /api/v1/me/verification', () => {
  it('answers 409 without a selfie', async () => {
    const member = await onboarded()
    const res = await request(member.token, env as Env)
    expect(res.status).toBe(409)
    expect((await problem(res)).detail).toMatch(/selfie first/)
  })

  it('queues once: a second request is 409 and queues nothing', async () => {
    const member = await onboarded()
    const { message, env: captureEnv } = await submitted(member)
    expect(message.type).toBe(verificationJobType)
    const row = (await verificationRow(member.id))!
    expect(row).toMatchObject({ status: 'queued', jobId: message.jobId, message: progressMessages.queued })
    expect(await jobRow(message.jobId)).toMatchObject({
      type: verificationJobType,
      ownerId: member.id,
      status: 'queued',
      payload: { userId: member.id, selfieId: row.selfieId },
    })
    const again = await request(member.token, captureEnv)
    expect(again.status).toBe(409)
    expect((await problem(again)).detail).toMatch(/already under way/)
  })

  it('answers 503 when no OpenAI key is configured, and changes nothing', async () => {
    const member = await onboarded()
    expect((await put(member.token, jpeg())).status).toBe(200)
    const { env: keyless, sent } = capturingEnv({ OPENAI_API_KEY: '' })
    const res = await request(member.token, keyless)
    expect(res.status).toBe(503)
    expect((await problem(res)).code).toBe('service_unavailable')
    expect(sent).toHaveLength(0)
    expect((await verificationRow(member.id))!).toMatchObject({ status: 'uploading-photo', jobId: null })
    expect(await db.select().from(jobs).where(eq(jobs.ownerId, member.id))).toHaveLength(0)
  })

  it('allows 8 submissions a day, then 429 with Retry-After and RateLimit headers, changing nothing', async () => {
    const member = await onboarded()
    const { env: captureEnv, sent } = capturingEnv()
    for (let i = 0; i < 8; i++) {
      expect((await put(member.token, jpeg())).status).toBe(200)
      const ok = await request(member.token, captureEnv)
      expect(ok.status).toBe(202)
      expect(ok.headers.get('ratelimit-remaining')).toBe(String(7 - i))
    }
    expect((await put(member.token, jpeg())).status).toBe(200)
    const refused = await request(member.token, captureEnv)
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(refused.headers.get('ratelimit-limit')).toBe('8')
    expect(refused.headers.get('ratelimit-remaining')).toBe('0')
    expect(sent).toHaveLength(8)
    expect((await verificationRow(member.id))!.status).toBe('uploading-photo')
  })

  it('another member can neither see nor submit my attempt (BOLA)', async () => {
    const me = await onboarded()
    const other = await onboarded()
    expect((await put(me.token, jpeg())).status).toBe(200)
    expect((await getState(other.token)).status).toBe('none')
    const res = await request(other.token, capturingEnv().env)
    expect(res.status).toBe(409)
    expect((await verificationRow(me.id))!.status).toBe('uploading-photo')
    expect(await verificationRow(other.id)).toBeUndefined()
  })
})

describe('the verification job', () => {
  it('end to end through the real queue: success at level photos, with verified photos and flags', async () => {
    const member = await onboarded({ gender: 'woman', ethnicity: 'east-asian', dateOfBirth: '1990-01-01' })
    const [p1, , p3] = await addPhotos(member.id, [1, 2, 3])
    await script(member.id, [{ content: answer({}, [0.95, 0.5, 0.9]) }])
    expect((await put(member.token, jpeg())).status).toBe(200)
    const res = await call('POST', '/api/v1/me/verification', member.token)
    expect(res.status).toBe(202)
    expect(((await res.json()) as { status: string }).status).toBe('queued')
    await vi.waitFor(
      async () => {
        expect((await getState(member.token)).status).toBe('success')
      },
      { timeout: 15_000, interval: 200 },
    )
    expect(await getState(member.token)).toMatchObject({
      status: 'success',
      message: null,
      reason: null,
      verificationLevel: 'photos',
      verifiedAge: true,
      verifiedGender: true,
      verifiedEthnicity: true,
      verifiedPhotos: { '1': true, '2': false, '3': true },
    })
    const verified = await db
      .select({ id: photos.id })
      .from(photos)
      .where(and(eq(photos.userId, member.id), eq(photos.verified, true)))
    expect(verified.map((r) => r.id).sort()).toEqual([p1, p3].sort())
    const row = (await verificationRow(member.id))!
    expect(row.result).toMatchObject({ verifiedPhotoIds: expect.arrayContaining([p1, p3]) })
    await vi.waitFor(async () => expect((await jobRow(row.jobId!)).status).toBe('succeeded'), {
      timeout: 5000,
    })

    // What went over the wire: the documented parameters, images inline, selfie first.
    const [sent] = await modelRequests(member.id)
    const body = sent!.body as {
      model: string
      temperature: number
      max_tokens: number
      response_format: unknown
      messages: { role: string; content: unknown }[]
    }
    expect(sent!.headers.authorization).toBe(`Bearer ${String(env.OPENAI_API_KEY)}`)
    expect(body).toMatchObject({
      model: 'gpt-4.1',
      temperature: 0,
      max_tokens: 500,
      response_format: { type: 'json_object' },
    })
    const system = body.messages[0]!
    expect(system.role).toBe('system')
    // Born on 1 January: the age is the difference of the years on every day of the year.
    const age = new Date().getUTCFullYear() - 1990
    expect(system.content).toContain(`is ${age} years old`)
    expect(system.content).toContain('gender: Woman')
    expect(system.content).toContain('ethnicity of the person in image #1 is: East Asian')
    expect(system.content).toContain('image_1_has_person_from_image_4')
    const parts = body.messages[1]!.content as { type: string; image_url?: { url: string; detail: string } }[]
    const images = parts.filter((p) => p.type === 'image_url').map((p) => p.image_url!)
    expect(images.map((i) => i.detail)).toEqual(['high', 'low', 'low', 'low'])
    for (const image of images) expect(image.url).toMatch(/^data:image\/jpeg;base64,\/9j\//)
    const selfie = await env.IMAGES_BUCKET.get(`450-${row.selfieId}.jpg`)
    const selfieBytes = new Uint8Array(await selfie!.arrayBuffer())
    expect(images[0]!.url.length).toBe(
      'data:image/jpeg;base64,'.length + Math.ceil(selfieBytes.length / 3) * 4,
    )
  })

  it('succeeds at level basics when no photo matches, and leaves ethnicity unverified when none is claimed', async () => {
    const member = await onboarded({ gender: 'man', ethnicity: null })
    const ids = await addPhotos(member.id, [1, 2])
    const { image_1_has_claimed_ethnicity: _unused, ...rest } = JSON.parse(answer({}, [0.89, 0.2])) as Record<
      string,
      number
    >
    await script(member.id, [{ content: JSON.stringify(rest) }])
    const { message } = await submitted(member)
    const result = await deliver(message, 1)
    expect(result.explicitAcks).toHaveLength(1)
    expect(await getState(member.token)).toMatchObject({
      status: 'success',
      verificationLevel: 'basics',
      verifiedAge: true,
      verifiedGender: true,
      verifiedEthnicity: false,
      verifiedPhotos: { '1': false, '2': false },
    })
    const prompt = ((await modelRequests(member.id))[0]!.body as { messages: { content: string }[] })
      .messages[0]!.content
    expect(prompt).not.toContain('image_1_has_claimed_ethnicity')
    expect(ids).toHaveLength(2)
  })

  it('succeeds at level basics for a member without photos, sending only the selfie', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer() }])
    const { message } = await submitted(member)
    await deliver(message, 1)
    expect(await getState(member.token)).toMatchObject({
      status: 'success',
      verificationLevel: 'basics',
      verifiedPhotos: {},
    })
    const parts = (
      (await modelRequests(member.id))[0]!.body as { messages: { content: { type: string }[] }[] }
    ).messages[1]!.content
    expect(parts.filter((p) => p.type === 'image_url')).toHaveLength(1)
  })

  it('uses the photos as they are when the job runs', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer({}, [0.95]) }])
    const { message } = await submitted(member)
    const [late] = await addPhotos(member.id, [4])
    await deliver(message, 1)
    expect((await getState(member.token)).verifiedPhotos).toEqual({ '4': true })
    expect(late).toBeDefined()
  })

  for (const [name, profile, overrides, reason] of [
    ['not smiling', {}, { image_1_has_smiling_person: 0.69 }, 'not-smiling'],
    ['gender mismatch', { gender: 'man' }, { image_1_has_claimed_gender: 0.2 }, 'gender'],
    ['under-age', {}, { image_1_has_claimed_minimum_age: 0.79 }, 'under-18'],
    [
      'ethnicity mismatch',
      { ethnicity: 'south-asian' },
      { image_1_has_claimed_ethnicity: 0.39 },
      'ethnicity',
    ],
    ['screenshot', {}, { image_1_is_not_screenshot: 0.1 }, 'screenshot'],
  ] as [string, Partial<typeof profiles.$inferInsert>, Record<string, number>, FailureReason][]) {
    it(`fails with an actionable message: ${name}`, async () => {
      const member = await onboarded(profile)
      await addPhotos(member.id, [1])
      await script(member.id, [{ content: answer(overrides, [0.99]) }])
      const { message } = await submitted(member)
      const result = await deliver(message, 1)
      expect(result.explicitAcks).toHaveLength(1)
      expect(await getState(member.token)).toMatchObject({
        status: 'failure',
        reason,
        message: failureMessages[reason],
        verificationLevel: 'none',
        verifiedAge: false,
        verifiedGender: false,
        verifiedPhotos: { '1': false },
      })
      // A checked selfie cannot be submitted again: the member takes a new one.
      const again = await request(member.token, capturingEnv().env)
      expect(again.status).toBe(409)
      expect((await problem(again)).detail).toMatch(/upload a new one/)
    })
  }

  it('fails cleanly when the model refuses', async () => {
    const member = await onboarded()
    await script(member.id, [{ refusal: "I'm sorry, I can't help with that." }])
    const { message } = await submitted(member)
    await deliver(message, 1)
    expect(await getState(member.token)).toMatchObject({ status: 'failure', reason: 'refused' })
  })

  it('fails with selfie-missing when the selfie object is gone', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer() }])
    const { message } = await submitted(member)
    await env.IMAGES_BUCKET.delete(`450-${(await verificationRow(member.id))!.selfieId}.jpg`)
    await deliver(message, 1)
    expect(await getState(member.token)).toMatchObject({ status: 'failure', reason: 'selfie-missing' })
    expect(await modelRequests(member.id)).toHaveLength(0)
  })
})

describe('upstream trouble: retried, then success or a clean failure', () => {
  it('a slow answer times out, is retried with backoff, and finally fails with "try again later"', async () => {
    const member = await onboarded()
    await script(member.id, [{ delayMs: 3000, content: answer() }])
    const { message, env: impatient } = await submitted(member, { OPENAI_TIMEOUT_MS: '300' })
    for (const attempt of [1, 2]) {
      const started = Date.now()
      const result = await deliver(message, attempt, { env: impatient })
      expect(Date.now() - started).toBeLessThan(2500)
      expect(result.retryMessages).toHaveLength(1)
      expect(result.retryDelays).toEqual([5 * 2 ** (attempt - 1)])
      expect(await verificationRow(member.id)).toMatchObject({
        status: 'queued',
        message: progressMessages.retrying,
      })
      expect(await jobRow(message.jobId)).toMatchObject({
        status: 'queued',
        error: expect.stringMatching(/within 300 ms/),
      })
    }
    // The queue gives up after its last retry and dead-letters the message.
    await deliver(message, 6, { dlq: true })
    expect(await jobRow(message.jobId)).toMatchObject({ status: 'dead' })
    expect(await getState(member.token)).toMatchObject({
      status: 'failure',
      reason: 'unavailable',
      message: failureMessages.unavailable,
      verificationLevel: 'none',
    })
    // "Try again later" is actionable: the same selfie may be submitted again.
    await script(member.id, [{ content: answer() }])
    const { env: captureEnv, sent } = capturingEnv()
    expect((await request(member.token, captureEnv)).status).toBe(202)
    await deliver(sent[0]!, 1)
    expect((await getState(member.token)).status).toBe('success')
  })

  it('a malformed answer is retried, and fails cleanly when it stays malformed', async () => {
    const member = await onboarded()
    await script(member.id, [
      { content: 'Sure! Here is the JSON you asked for:' },
      { content: '{"image_1_is_photograph": 0.9, "image_1_is_not_scr', finishReason: 'length' },
      { content: answer({ image_1_has_smiling_person: 1.7 }) },
    ])
    const { message } = await submitted(member)
    for (const attempt of [1, 2, 3]) {
      const result = await deliver(message, attempt)
      expect(result.retryMessages).toHaveLength(1)
      expect((await verificationRow(member.id))!.status).toBe('queued')
    }
    await deliver(message, 6, { dlq: true })
    expect(await getState(member.token)).toMatchObject({ status: 'failure', reason: 'unavailable' })
    expect(await modelRequests(member.id)).toHaveLength(3)
  })

  it('429 is retried no sooner than Retry-After, then succeeds', async () => {
    const member = await onboarded()
    await addPhotos(member.id, [1])
    await script(member.id, [{ error: { status: 429 }, retryAfter: 30 }, { content: answer({}, [0.93]) }])
    const { message } = await submitted(member)
    const first = await deliver(message, 1)
    expect(first.retryMessages).toHaveLength(1)
    expect(first.retryDelays).toEqual([30])
    const second = await deliver(message, 2)
    expect(second.explicitAcks).toHaveLength(1)
    expect(await getState(member.token)).toMatchObject({ status: 'success', verificationLevel: 'photos' })
    expect(await jobRow(message.jobId)).toMatchObject({ status: 'succeeded', attempts: 2 })
  })

  it('500 is retried, then succeeds', async () => {
    const member = await onboarded()
    await script(member.id, [{ error: { status: 500 } }, { error: { status: 503 } }, { content: answer() }])
    const { message } = await submitted(member)
    expect((await deliver(message, 1)).retryMessages).toHaveLength(1)
    expect((await deliver(message, 2)).retryMessages).toHaveLength(1)
    expect((await deliver(message, 3)).explicitAcks).toHaveLength(1)
    expect((await getState(member.token)).status).toBe('success')
  })

  it('500 every time: retried, then failed cleanly when the queue gives up', async () => {
    const member = await onboarded()
    await script(member.id, [{ error: { status: 500 } }])
    const { message } = await submitted(member)
    for (const attempt of [1, 2, 3, 4, 5, 6])
      expect((await deliver(message, attempt)).retryMessages).toHaveLength(1)
    await deliver(message, 6, { dlq: true })
    expect(await getState(member.token)).toMatchObject({ status: 'failure', reason: 'unavailable' })
    // A second dead letter for the same job changes nothing.
    await deliver(message, 6, { dlq: true })
    expect((await verificationRow(member.id))!.status).toBe('failure')
  })

  it('another 4xx (a bad key) fails permanently at once, without retry', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer() }])
    const { message } = await submitted(member)
    const result = await deliver(message, 1, { env: envWith({ OPENAI_API_KEY: 'sk-revoked-key-000000' }) })
    expect(result.retryMessages).toHaveLength(0)
    expect(result.explicitAcks).toHaveLength(1)
    expect(await jobRow(message.jobId)).toMatchObject({
      status: 'failed',
      error: expect.stringMatching(/401/),
    })
    expect(await getState(member.token)).toMatchObject({
      status: 'failure',
      reason: 'unavailable',
      message: failureMessages.unavailable,
    })
  })
})

describe('idempotency', () => {
  it('a redelivered job does not call the model again or change the outcome', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer() }, { content: answer({ image_1_has_smiling_person: 0 }) }])
    const { message } = await submitted(member)
    await deliver(message, 1)
    expect((await getState(member.token)).status).toBe('success')
    // Already succeeded: the consumer skips it.
    expect((await deliver(message, 2)).explicitAcks).toHaveLength(1)
    // Lost acknowledgement (the job row still says running): the handler sees the written outcome.
    await db.update(jobs).set({ status: 'running' }).where(eq(jobs.id, message.jobId))
    await deliver(message, 3)
    expect(await jobRow(message.jobId)).toMatchObject({
      status: 'succeeded',
      result: { status: 'success', redelivered: true },
    })
    expect(await modelRequests(member.id)).toHaveLength(1)
    expect((await getState(member.token)).status).toBe('success')
  })

  it('a job for a replaced selfie leaves the new attempt alone', async () => {
    const member = await onboarded()
    await script(member.id, [{ content: answer() }])
    const { message } = await submitted(member)
    expect((await put(member.token, jpeg())).status).toBe(200)
    await deliver(message, 1)
    expect(await jobRow(message.jobId)).toMatchObject({ status: 'succeeded', result: { superseded: true } })
    expect((await getState(member.token)).status).toBe('uploading-photo')
    expect(await modelRequests(member.id)).toHaveLength(0)
  })
})

describe('judging the answer', () => {
  const claims: Claims = { age: 30, gender: 'woman', ethnicity: 'white-caucasian' }
  const cases: [string, number, FailureReason][] = [
    ['image_1_is_photograph', 0.7, 'not-a-photo'],
    ['image_1_is_not_screenshot', 0.7, 'screenshot'],
    ['image_1_was_not_edited', 0.8, 'edited'],
    ['image_1_has_at_least_one_person', 0.7, 'no-person'],
    ['image_1_has_exactly_one_person', 0.7, 'several-people'],
    ['image_1_has_claimed_gender', 0.5, 'gender'],
    ['image_1_has_claimed_ethnicity', 0.4, 'ethnicity'],
    ['image_1_has_claimed_age', 0.5, 'age'],
    ['image_1_has_claimed_minimum_age', 0.8, 'under-18'],
    ['image_1_has_smiling_person', 0.7, 'not-smiling'],
    ['image_1_has_eyebrow_touch', 0.7, 'no-eyebrow-touch'],
    ['image_1_has_downward_thumb', 0.7, 'no-thumbs-down'],
  ]
  for (const [key, threshold, reason] of cases) {
    it(`${key}: passes at ${threshold}, fails just below with ${reason}`, () => {
      expect(judgeAnswer(answer({ [key]: threshold }), claims, 0).ok).toBe(true)
      const verdict = judgeAnswer(answer({ [key]: threshold - 0.01 }), claims, 0)
      expect(verdict).toMatchObject({ ok: false, reason })
    })
  }

  it('verifies a photo at 0.9, not below; a photo the model skipped is unverified', () => {
    const verdict = judgeAnswer(answer({}, [0.9, 0.89]), claims, 3)
    expect(verdict).toMatchObject({ ok: true, verifiedPhotoIndexes: [0] })
  })

  it('reports the first failing claim in the documented order', () => {
    expect(
      judgeAnswer(answer({ image_1_has_smiling_person: 0, image_1_has_claimed_gender: 0 }), claims, 0),
    ).toMatchObject({ reason: 'gender' })
  })

  it('ignores the ethnicity probability when no ethnicity is claimed', () => {
    expect(
      judgeAnswer(answer({ image_1_has_claimed_ethnicity: 0 }), { ...claims, ethnicity: null }, 0).ok,
    ).toBe(true)
  })

  it('throws (transient) on malformed answers', () => {
    const { image_1_has_claimed_ethnicity: _e, ...withoutEthnicity } = JSON.parse(answer()) as Record<
      string,
      number
    >
    for (const bad of [
      'not json',
      '[]',
      answer({ image_1_is_photograph: -0.1 }),
      JSON.stringify({ ...JSON.parse(answer()), image_1_has_smiling_person: 'very' }),
      JSON.stringify(withoutEthnicity),
      JSON.stringify({ ...JSON.parse(answer()), image_1_has_person_from_image_2: 2 }),
    ]) {
      expect(() => judgeAnswer(bad, claims, 1)).toThrow()
    }
  })

  it('reads Retry-After in seconds, as a date, and in ms; ignores nonsense', () => {
    const now = new Date('2026-01-01T00:00:00Z')
    expect(parseRetryAfter(new Headers({ 'retry-after': '12' }), now)).toBe(12)
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '1500' }), now)).toBe(1.5)
    expect(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:01:00 GMT' }), now)).toBe(60)
    expect(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now)).toBeUndefined()
    expect(parseRetryAfter(new Headers({ 'retry-after': '999999' }), now)).toBeUndefined()
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined()
  })
})

describe('expiry (cron)', () => {
  it('deletes attempts past three days except live running ones, and queues their selfies', async () => {
    const members = await Promise.all([onboarded(), onboarded(), onboarded(), onboarded(), onboarded()])
    const now = Date.now()
    const hoursAgo = (h: number) => new Date(now - h * 3_600_000)
    const rows = [
      { status: 'uploading-photo', expiresAt: hoursAgo(1), updatedAt: hoursAgo(73) },
      { status: 'failure', expiresAt: hoursAgo(1), updatedAt: hoursAgo(60) },
      { status: 'running', expiresAt: hoursAgo(1), updatedAt: hoursAgo(0.1) },
      { status: 'running', expiresAt: hoursAgo(1), updatedAt: hoursAgo(2) },
      { status: 'queued', expiresAt: new Date(now + 3_600_000), updatedAt: hoursAgo(1) },
    ] as const
    const selfieIds = rows.map(() => hex64())
    await db.insert(verifications).values(
      rows.map((r, i) => ({
        userId: members[i]!.id,
        selfieId: selfieIds[i]!,
        selfieHash: hex64(),
        status: r.status,
        expiresAt: r.expiresAt,
        updatedAt: r.updatedAt,
      })),
    )

    const controller = createScheduledController({ cron: '17 * * * *', scheduledTime: now })
    await worker.scheduled(controller, env as Env)

    const left = await db
      .select({ userId: verifications.userId })
      .from(verifications)
      .where(
        inArray(
          verifications.userId,
          members.map((m) => m.id),
        ),
      )
    expect(left.map((r) => r.userId).sort()).toEqual([members[2]!.id, members[4]!.id].sort())
    const queued = await db
      .select({ key: storageDeletions.objectKey })
      .from(storageDeletions)
      .where(
        inArray(
          storageDeletions.objectKey,
          selfieIds.map((id) => `450-${id}.jpg`),
        ),
      )
    expect(queued.map((r) => r.key).sort()).toEqual([0, 1, 3].map((i) => `450-${selfieIds[i]}.jpg`).sort())
  })
})
