import { createScheduledController, env } from 'cloudflare:test'
import { eq, inArray, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { handleScheduled } from '../../../cron'
import { schedule } from '../../../cron/registry'
import { photos, storageDeletions, users, verifications, voiceBios } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import { fixedClock } from '../../../src/lib/clock'
import { createServices } from '../../../src/services'
import { cleanStorage, storageDeletionGraceMs } from '../../../src/services/media/storage-cleanup'
import { account } from '../fixtures'
import { envWith, services } from '../helpers'

const s = services()
const cron = '*/10 * * * *'
const hex = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, '0')).join('')
const photoKeys = (id: string) => [`original-${id}.jpg`, `900-${id}.jpg`, `450-${id}.jpg`]

async function putObjects(bucket: R2Bucket, keys: string[]) {
  for (const key of keys) await bucket.put(key, `object ${key}`)
}
const listed = async (bucket: R2Bucket) => (await bucket.list()).objects.map((o) => o.key).sort()
const queuedKeys = async (keys: string[]) =>
  (
    await s.database.db
      .select({ key: storageDeletions.objectKey })
      .from(storageDeletions)
      .where(inArray(storageDeletions.objectKey, keys))
  )
    .map((r) => r.key)
    .sort()

/**
 * Make these queue rows older than the grace period. Rows other test files queue meanwhile stay
 * fresh, so the runs here only ever take this file's rows.
 */
async function age(keys: string[]) {
  await s.database.db
    .update(storageDeletions)
    .set({ queuedAt: sql`now() - interval '2 hours'` })
    .where(inArray(storageDeletions.objectKey, keys))
}
async function queue(bucket: 'images' | 'audio', keys: string[]) {
  await s.database.db.insert(storageDeletions).values(keys.map((objectKey) => ({ bucket, objectKey })))
}

const runCron = () => handleScheduled(createScheduledController({ cron }), env as Env)

async function photo(userId: string, position: number) {
  const id = hex()
  await s.database.db.insert(photos).values({
    id,
    userId,
    position,
    blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
    width: 900,
    height: 900,
    contentHash: hex(),
  })
  return id
}

async function voiceBio(userId: string) {
  const id = hex()
  await s.database.db.insert(voiceBios).values({
    userId,
    id,
    objectKey: `${id}.webm`,
    contentType: 'audio/webm',
    codec: 'opus',
    durationMs: 2000,
    bytes: 4000,
  })
  return `${id}.webm`
}

async function selfie(userId: string) {
  const selfieId = hex()
  await s.database.db.insert(verifications).values({
    userId,
    selfieId,
    selfieHash: hex(),
    expiresAt: new Date(Date.now() + 86_400_000),
  })
  return selfieId
}

describe('storage clean-up cron', () => {
  it('is registered on its 10-minute slot', () => {
    expect(schedule[cron]!.map((j) => j.name)).toContain('clean-storage')
  })

  it('deletes what rows let go of, keeps what is still referenced, and is a no-op the second time', async () => {
    const member = await account()
    const other = await account()

    // Still referenced, though queued (as an upload whose write only looked failed would do).
    const livePhoto = await photo(member.id, 1)
    const liveVoice = await voiceBio(member.id)
    const liveSelfie = await selfie(member.id)
    const referenced = {
      images: [...photoKeys(livePhoto), `450-${liveSelfie}.jpg`],
      audio: [liveVoice],
    }
    await putObjects(env.IMAGES_BUCKET, referenced.images)
    await putObjects(env.AUDIO_BUCKET, referenced.audio)
    await queue('images', referenced.images)
    await queue('audio', referenced.audio)

    // Let go of through the triggers: a deleted photo, a replaced voice bio, a deleted selfie.
    const goneP = await photo(other.id, 1)
    const oldVoice = await voiceBio(other.id)
    const goneSelfie = await selfie(other.id)
    const newVoiceId = hex()
    await s.database.db
      .update(voiceBios)
      .set({ id: newVoiceId, objectKey: `${newVoiceId}.m4a` })
      .where(eq(voiceBios.userId, other.id))
    await s.database.db.delete(photos).where(eq(photos.id, goneP))
    await s.database.db.delete(verifications).where(eq(verifications.userId, other.id))
    const released = { images: [...photoKeys(goneP), `450-${goneSelfie}.jpg`], audio: [oldVoice] }
    expect(await queuedKeys([...released.images, ...released.audio])).toEqual(
      [...released.images, ...released.audio].sort(),
    )
    await putObjects(env.IMAGES_BUCKET, released.images)
    await putObjects(env.AUDIO_BUCKET, [...released.audio, `${newVoiceId}.m4a`])

    // Queued directly, with no object in R2 (already gone): deleting it is fine.
    const missing = `${hex()}.opus`
    await queue('audio', [missing])

    // Queued within the grace period: not yet.
    const fresh = `${hex()}.mp3`
    await putObjects(env.AUDIO_BUCKET, [fresh])
    await queue('audio', [fresh])

    const mine = [...referenced.images, ...referenced.audio, ...released.images, ...released.audio, missing]
    await age(mine)

    const report = await runCron()
    // Other jobs share the ten-minute schedule; this test is about the clean-up's own report.
    const cleanUp = report.jobs.find((job) => job.name === 'clean-storage')
    expect(cleanUp).toEqual(expect.objectContaining({ ok: true }))
    expect(cleanUp!.processed).toBeGreaterThanOrEqual(mine.length)

    const imagesAfter = await listed(env.IMAGES_BUCKET)
    const audioAfter = await listed(env.AUDIO_BUCKET)
    for (const key of referenced.images) expect(imagesAfter).toContain(key)
    for (const key of [...referenced.audio, `${newVoiceId}.m4a`, fresh]) expect(audioAfter).toContain(key)
    for (const key of released.images) expect(imagesAfter).not.toContain(key)
    for (const key of released.audio) expect(audioAfter).not.toContain(key)
    // Referenced keys leave the queue too (they are not garbage); the fresh one waits.
    expect(await queuedKeys(mine)).toEqual([])
    expect(await queuedKeys([fresh])).toEqual([fresh])

    const again = await runCron()
    expect(again.jobs.find((job) => job.name === 'clean-storage')?.ok).toBe(true)
    expect(await listed(env.IMAGES_BUCKET)).toEqual(imagesAfter)
    expect(await listed(env.AUDIO_BUCKET)).toEqual(audioAfter)
  })

  it("queues and deletes every file of a deleted account, and nobody else's", async () => {
    const leaving = await account()
    const staying = await account()
    const leavingPhotos = [await photo(leaving.id, 1), await photo(leaving.id, 2)]
    const leavingVoice = await voiceBio(leaving.id)
    const leavingSelfie = await selfie(leaving.id)
    const stayingPhoto = await photo(staying.id, 1)
    const leavingImages = [...leavingPhotos.flatMap(photoKeys), `450-${leavingSelfie}.jpg`]
    await putObjects(env.IMAGES_BUCKET, [...leavingImages, ...photoKeys(stayingPhoto)])
    await putObjects(env.AUDIO_BUCKET, [leavingVoice])

    await s.database.db.delete(users).where(eq(users.id, leaving.id))
    expect(await queuedKeys([...leavingImages, leavingVoice])).toEqual(
      [...leavingImages, leavingVoice].sort(),
    )
    await age([...leavingImages, leavingVoice])

    expect((await runCron()).jobs[0]!.ok).toBe(true)
    const images = await listed(env.IMAGES_BUCKET)
    for (const key of leavingImages) expect(images).not.toContain(key)
    for (const key of photoKeys(stayingPhoto)) expect(images).toContain(key)
    expect(await listed(env.AUDIO_BUCKET)).not.toContain(leavingVoice)
  })

  it('leaves the rows queued when R2 fails, reports the run as failed, and finishes on the next run', async () => {
    const keys = [`${hex()}.m4a`, `${hex()}.webm`]
    const image = `450-${hex()}.jpg`
    await putObjects(env.AUDIO_BUCKET, keys)
    await putObjects(env.IMAGES_BUCKET, [image])
    await queue('audio', keys)
    await queue('images', [image])
    await age([...keys, image])

    const failingAudio = new Proxy(env.AUDIO_BUCKET, {
      get(target, prop) {
        if (prop === 'delete') return async () => Promise.reject(new Error('R2 is down'))
        const value = Reflect.get(target, prop)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const failingEnv = envWith({ AUDIO_BUCKET: failingAudio })

    const result = await cleanStorage(createServices(failingEnv), { batchSize: 1000 })
    expect(result.failed).toBeGreaterThanOrEqual(2)
    expect(await queuedKeys(keys)).toEqual([...keys].sort())
    for (const key of keys) expect(await env.AUDIO_BUCKET.head(key)).not.toBeNull()
    // The images bucket worked: that part went through.
    expect(await queuedKeys([image])).toEqual([])
    expect(await env.IMAGES_BUCKET.head(image)).toBeNull()

    const report = await handleScheduled(createScheduledController({ cron }), failingEnv)
    expect(report.jobs[0]).toMatchObject({ name: 'clean-storage', ok: false })
    expect(report.jobs[0]!.error).toMatch(/stay queued/)
    expect(await queuedKeys(keys)).toEqual([...keys].sort())

    expect((await runCron()).jobs[0]!.ok).toBe(true)
    expect(await queuedKeys(keys)).toEqual([])
    for (const key of keys) expect(await env.AUDIO_BUCKET.head(key)).toBeNull()
  })

  it('stays bounded per run and splits R2 calls at 1000 keys', async () => {
    const keys = Array.from({ length: 1203 }, () => `${hex()}.aac`)
    await queue('audio', keys)
    await age(keys)
    const calls: number[] = []
    const countingAudio = new Proxy(env.AUDIO_BUCKET, {
      get(target, prop) {
        const value = Reflect.get(target, prop)
        if (prop === 'delete') {
          return (k: string | string[]) => {
            calls.push([k].flat().length)
            return target.delete(k)
          }
        }
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const counting = createServices(envWith({ AUDIO_BUCKET: countingAudio }))

    const first = await cleanStorage(counting, { batchSize: 500, maxBatches: 2 })
    expect(first.deleted).toBe(1000)
    expect(await queuedKeys(keys)).toHaveLength(203)
    const rest = await cleanStorage(counting, { batchSize: 1203 })
    expect(rest.deleted).toBe(203)
    expect(calls).toEqual([500, 500, 203])

    const big = Array.from({ length: 1500 }, () => `${hex()}.ogg`)
    await queue('audio', big)
    await age(big)
    calls.length = 0
    expect((await cleanStorage(counting, { batchSize: 2000 })).deleted).toBe(1500)
    expect(calls).toEqual([1000, 500])
  })

  it('lets two overlapping runs share the queue without taking the same rows', async () => {
    const keys = Array.from({ length: 40 }, () => `${hex()}.mp3`)
    await putObjects(env.AUDIO_BUCKET, keys)
    await queue('audio', keys)
    await age(keys)
    const [a, b] = await Promise.all([
      cleanStorage(services(), { batchSize: 1000 }),
      cleanStorage(services(), { batchSize: 1000 }),
    ])
    expect(a.deleted + b.deleted).toBe(keys.length)
    expect(a.failed + b.failed).toBe(0)
    expect(await queuedKeys(keys)).toEqual([])
    const audio = await listed(env.AUDIO_BUCKET)
    for (const key of keys) expect(audio).not.toContain(key)
  })

  it('waits out the grace period by the services clock', async () => {
    const key = `${hex()}.webm`
    await putObjects(env.AUDIO_BUCKET, [key])
    // Queued two days ago, and the clock placed relative to that, so these runs cannot reach
    // rows other test files queue meanwhile.
    const queuedAt = new Date(Date.now() - 2 * 86_400_000)
    await s.database.db.insert(storageDeletions).values({ bucket: 'audio', objectKey: key, queuedAt })
    const at = (ms: number) =>
      createServices(env as Env, { clock: fixedClock(new Date(queuedAt.getTime() + ms)) })

    await cleanStorage(at(storageDeletionGraceMs - 60_000), { batchSize: 1000 })
    expect(await queuedKeys([key])).toEqual([key])
    expect(await env.AUDIO_BUCKET.head(key)).not.toBeNull()
    await cleanStorage(at(storageDeletionGraceMs + 1), { batchSize: 1000 })
    expect(await queuedKeys([key])).toEqual([])
    expect(await env.AUDIO_BUCKET.head(key)).toBeNull()
  })
})
