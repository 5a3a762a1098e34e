import { env } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { storageDeletions, users, voiceBios } from '../../../src/db/schema'
import { MAX_UPLOAD_BYTES } from '../../../src/lib/http/upload'
import { putVoiceBio } from '../../../src/services/media/voice-bio'
import { type AudioFixture, audioFixtures } from '../../fixtures/audio'
import { uniqueIp } from '../auth-helpers'
import { account } from '../fixtures'
import { api, origin, problem, services } from '../helpers'
import { concatBytes } from '../../../src/lib/codecs/bytes'

const concat = (...parts: Uint8Array[]) => concatBytes(parts)

const s = services()
const path = '/api/v1/me/voice-bio'

interface VoiceBio {
  id: string
  contentType: string
  codec: string
  durationMs: number
  bytes: number
  url: string
  createdAt: string
}

function send(method: string, token: string | undefined, body?: Uint8Array, contentType?: string) {
  return api(path, {
    method,
    headers: {
      'CF-Connecting-IP': uniqueIp(),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...(contentType ? { 'content-type': contentType } : {}),
    },
    body,
  })
}
const upload = (token: string | undefined, body: Uint8Array, contentType = 'application/octet-stream') =>
  send('PUT', token, body, contentType)

const keyOf = (bio: VoiceBio) => new URL(bio.url).pathname.split('/').pop()!
const audioKeys = async () => (await env.AUDIO_BUCKET.list()).objects.map((o) => o.key).sort()
const queued = async (key: string) =>
  s.database.db
    .select()
    .from(storageDeletions)
    .where(and(eq(storageDeletions.bucket, 'audio'), eq(storageDeletions.objectKey, key)))
const rowOf = async (userId: string) =>
  (await s.database.db.select().from(voiceBios).where(eq(voiceBios.userId, userId)))[0]

/** A deterministic byte stream that is not audio (xorshift32). */
function junk(n: number, seed = 0x9e3779b9): Uint8Array {
  const out = new Uint8Array(n)
  let x = seed
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** The ADTS frames of speech.aac (44.1 kHz, 1024 samples each). */
function adtsFrames(): Uint8Array[] {
  const source = audioFixtures['speech.aac']
  const frames: Uint8Array[] = []
  for (let at = 0; at < source.length;) {
    const length = ((source[at + 3]! & 3) << 11) | (source[at + 4]! << 3) | (source[at + 5]! >> 5)
    frames.push(source.subarray(at, at + length))
    at += length
  }
  return frames
}

/** The frames of speech.aac, repeated until the stream lasts `seconds`. */
function adtsLasting(seconds: number): Uint8Array {
  const frames = adtsFrames()
  const needed = Math.ceil((seconds * 44100) / 1024)
  return concat(...Array.from({ length: needed }, (_, i) => frames[i % frames.length]!))
}

/**
 * speech.m4a is laid out ftyp | free | mdat | moov, and the sample offsets point into the start
 * of mdat: growing mdat by `extra` bytes at its end keeps every offset valid, leaving a
 * structurally sound file whose index describes 2 s of audio in a much larger media box.
 */
function m4aWithJunkInMdat(extra: number): Uint8Array {
  const file = audioFixtures['speech.m4a']
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  let at = 0
  while (String.fromCharCode(...file.subarray(at + 4, at + 8)) !== 'mdat') at += view.getUint32(at)
  const end = at + view.getUint32(at)
  const out = concat(file.subarray(0, end), junk(extra), file.subarray(end))
  new DataView(out.buffer).setUint32(at, view.getUint32(at) + extra)
  return out
}

describe('PUT /api/v1/me/voice-bio: accepted formats', () => {
  const cases: [AudioFixture, { contentType: string; codec: string; ext: string; ms: number }][] = [
    ['speech.m4a', { contentType: 'audio/mp4', codec: 'aac', ext: 'm4a', ms: 2043 }],
    ['faststart.m4a', { contentType: 'audio/mp4', codec: 'aac', ext: 'm4a', ms: 2043 }],
    ['fragmented.m4a', { contentType: 'audio/mp4', codec: 'aac', ext: 'm4a', ms: 2027 }],
    ['speech.aac', { contentType: 'audio/aac', codec: 'aac', ext: 'aac', ms: 2043 }],
    ['speech.mp3', { contentType: 'audio/mpeg', codec: 'mp3', ext: 'mp3', ms: 2038 }],
    ['mpeg2.mp3', { contentType: 'audio/mpeg', codec: 'mp3', ext: 'mp3', ms: 1071 }],
    ['speech.opus', { contentType: 'audio/ogg', codec: 'opus', ext: 'opus', ms: 2000 }],
    ['speech.webm', { contentType: 'audio/webm', codec: 'opus', ext: 'webm', ms: 2021 }],
    ['mediarecorder.webm', { contentType: 'audio/webm', codec: 'opus', ext: 'webm', ms: 2020 }],
  ]
  for (const [name, expected] of cases) {
    it(`stores ${name} as uploaded, as ${expected.contentType}`, async () => {
      const member = await account()
      const file = audioFixtures[name]
      // The declared type is deliberately wrong: only the bytes count.
      const res = await upload(member.token, file, 'audio/wav')
      expect(res.status).toBe(201)
      const bio = (await res.json()) as VoiceBio
      expect(bio).toMatchObject({
        contentType: expected.contentType,
        codec: expected.codec,
        durationMs: expected.ms,
        bytes: file.length,
      })
      expect(bio.id).toMatch(/^[0-9a-f]{64}$/)
      expect(bio.url).toBe(`${origin}/media/audio/${bio.id}.${expected.ext}`)
      expect(Date.parse(bio.createdAt)).toBeGreaterThan(Date.now() - 60_000)

      const object = await env.AUDIO_BUCKET.get(`${bio.id}.${expected.ext}`)
      expect(object?.httpMetadata?.contentType).toBe(expected.contentType)
      expect(object?.httpMetadata?.cacheControl).toBe('public, max-age=31536000, immutable')
      expect(new Uint8Array(await object!.arrayBuffer())).toEqual(file)

      const read = await send('GET', member.token)
      expect(read.status).toBe(200)
      expect(await read.json()).toEqual(bio)
    })
  }

  it('derives the duration of MediaRecorder WebM (no Duration element) from its block timestamps', async () => {
    const file = audioFixtures['mediarecorder.webm']
    // The fixture really is shaped like MediaRecorder's output: no Duration (0x4489) anywhere.
    const text = String.fromCharCode(...file)
    expect(text.includes('\x44\x89')).toBe(false)
    expect(text.includes('\x18\x53\x80\x67\x01\xff\xff\xff\xff\xff\xff\xff')).toBe(true)
    const member = await account()
    const res = await upload(member.token, file)
    expect(res.status).toBe(201)
    expect(((await res.json()) as VoiceBio).durationMs).toBe(2020)
  })

  it('serves the stored recording from the media route with its content type', async () => {
    const member = await account()
    const bio = (await (await upload(member.token, audioFixtures['mediarecorder.webm'])).json()) as VoiceBio
    const served = await api(new URL(bio.url).pathname)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('audio/webm')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(audioFixtures['mediarecorder.webm'])
  })

  it('accepts an onboarding member and a recording within the one-second grace of 120 s', async () => {
    const member = await account('member', { status: 'onboarding' })
    const res = await upload(member.token, adtsLasting(120.5))
    expect(res.status).toBe(201)
    const bio = (await res.json()) as VoiceBio
    expect(bio.durationMs).toBeGreaterThan(120_000)
    expect(bio.durationMs).toBeLessThan(121_000)
  })
})

describe('PUT /api/v1/me/voice-bio: refused files write nothing', () => {
  /** Upload `body` for a fresh member and check the answer, and that neither a row nor an object appeared. */
  async function refused(body: Uint8Array, status: number, code: string, detail: RegExp) {
    const member = await account()
    const before = await audioKeys()
    const res = await upload(member.token, body)
    expect(res.status).toBe(status)
    const p = await problem(res)
    expect(p.code).toBe(code)
    expect(p.detail).toMatch(detail)
    if (status !== 413) expect(p.errors).toEqual([{ path: 'body', message: p.detail }])
    expect(await rowOf(member.id)).toBeUndefined()
    expect(await audioKeys()).toEqual(before)
  }

  it('refuses recordings longer than 120 s, naming the duration', async () => {
    await refused(
      audioFixtures['mediarecorder-125s.webm'],
      422,
      'validation_failed',
      /at most 120 seconds.*125\.0 s/,
    )
    await refused(adtsLasting(122), 422, 'validation_failed', /at most 120 seconds.*122\.0 s/)
  })

  const codecs: [AudioFixture, RegExp][] = [
    ['vorbis.ogg', /Vorbis audio is not accepted/],
    ['vorbis.webm', /Vorbis audio in WebM is not accepted/],
    ['speech.flac', /FLAC audio is not accepted/],
    ['alac.m4a', /Apple Lossless \(ALAC\) audio is not accepted/],
    ['mp2.mp3', /MPEG Layer II \(MP2\) audio is not accepted/],
    ['speech.wav', /WAV audio is not accepted/],
    ['video.mp4', /Video is not accepted/],
  ]
  for (const [name, detail] of codecs) {
    it(`refuses ${name} with 415, naming what it is`, async () => {
      await refused(audioFixtures[name], 415, 'unsupported_media_type', detail)
    })
  }

  it('refuses files that are not audio at all with 415', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...junk(200)])
    await refused(png, 415, 'unsupported_media_type', /not audio in a format we accept/)
    await refused(
      new TextEncoder().encode('hello, this is my voice bio'),
      415,
      'unsupported_media_type',
      /not audio/,
    )
    await refused(junk(50_000), 415, 'unsupported_media_type', /not audio/)
  })

  /** The file without its last `bytes` bytes: each cut lands inside the last frame, page or box. */
  const cut = (name: AudioFixture, bytes: number) =>
    audioFixtures[name].subarray(0, audioFixtures[name].length - bytes)
  const truncations: [string, Uint8Array][] = [
    ['an m4a whose index (at the end) is missing', cut('speech.m4a', 500)],
    ['a fast-start m4a cut inside its audio data', cut('faststart.m4a', 500)],
    ['a fragmented m4a cut inside a fragment', cut('fragmented.m4a', 1000)],
    [
      'an ADTS stream cut inside a frame',
      concat(...adtsFrames().slice(0, 10), adtsFrames()[10]!.subarray(0, 50)),
    ],
    ['an MP3 cut inside a frame', cut('speech.mp3', 50)],
    ['an Ogg Opus file cut inside a page', cut('speech.opus', 20)],
    ['a MediaRecorder WebM cut inside a block', cut('mediarecorder.webm', 5)],
  ]
  for (const [what, body] of truncations) {
    it(`refuses ${what} with 422`, async () => {
      await refused(body, 422, 'validation_failed', /truncated|damaged/)
    })
  }

  it('refuses a header claiming 100 s around 2 s of audio', async () => {
    await refused(
      audioFixtures['claims-100s.m4a'],
      422,
      'validation_failed',
      /declares 101\.2 s .* holds 2\.0 s/,
    )
    await refused(
      audioFixtures['claims-100s.opus'],
      422,
      'validation_failed',
      /declares 100\.0 s .* holds 2\.0 s/,
    )
    await refused(
      audioFixtures['gap-100s.webm'],
      422,
      'validation_failed',
      /declares 100\.0 s .* holds 2\.0 s/,
    )
  })

  it('refuses a short recording followed by megabytes of junk', async () => {
    await refused(
      m4aWithJunkInMdat(3 * 1024 * 1024),
      422,
      'validation_failed',
      /3\.0 MiB of the file is not part of the audio/,
    )
    await refused(
      concat(audioFixtures['speech.mp3'], junk(2 * 1024 * 1024)),
      422,
      'validation_failed',
      /not part of the audio/,
    )
    await refused(
      concat(audioFixtures['speech.opus'], junk(100_000)),
      422,
      'validation_failed',
      /not part of the audio/,
    )
  })

  it('refuses a body over 10 MB with 413 and an empty body with 422', async () => {
    await refused(new Uint8Array(MAX_UPLOAD_BYTES + 1), 413, 'payload_too_large', /at most 10 MB/)
    const member = await account()
    const res = await send('PUT', member.token, new Uint8Array(0))
    expect(res.status).toBe(422)
    expect((await problem(res)).errors).toEqual([{ path: 'body', message: 'Empty body' }])
    expect(await rowOf(member.id)).toBeUndefined()
  })
})

describe('replacing and deleting', () => {
  it('replaces with a new id and queues the old object for the clean-up cron', async () => {
    const member = await account()
    const first = (await (await upload(member.token, audioFixtures['speech.mp3'])).json()) as VoiceBio
    const res = await upload(member.token, audioFixtures['mediarecorder.webm'])
    expect(res.status).toBe(200)
    const second = (await res.json()) as VoiceBio
    expect(second.id).not.toBe(first.id)
    expect(second).toMatchObject({ contentType: 'audio/webm', codec: 'opus' })
    expect(await queued(keyOf(first))).toHaveLength(1)
    expect(await queued(keyOf(second))).toHaveLength(0)
    // Deletion is the cron's job: both objects exist until it runs.
    expect(await env.AUDIO_BUCKET.head(keyOf(first))).not.toBeNull()
    expect(await env.AUDIO_BUCKET.head(keyOf(second))).not.toBeNull()
    expect(await (await send('GET', member.token)).json()).toEqual(second)
  })

  it('deletes (204), then answers 404 to reading and deleting again', async () => {
    const member = await account()
    const bio = (await (await upload(member.token, audioFixtures['speech.opus'])).json()) as VoiceBio
    expect((await send('DELETE', member.token)).status).toBe(204)
    expect(await rowOf(member.id)).toBeUndefined()
    expect(await queued(keyOf(bio))).toHaveLength(1)
    const read = await send('GET', member.token)
    expect(read.status).toBe(404)
    expect((await problem(read)).code).toBe('not_found')
    expect((await send('DELETE', member.token)).status).toBe(404)
  })

  it('answers 404 to a member who never had one', async () => {
    const member = await account()
    expect((await send('GET', member.token)).status).toBe(404)
    expect((await send('DELETE', member.token)).status).toBe(404)
  })

  it('queues the new object when the row cannot be written', async () => {
    const before = new Set(await audioKeys())
    // No such user: the foreign key refuses the row after the object was stored.
    await expect(putVoiceBio(s, crypto.randomUUID(), audioFixtures['speech.opus'])).rejects.toThrow()
    const added = (await audioKeys()).filter((k) => !before.has(k))
    expect(added).toHaveLength(1)
    expect(await queued(added[0]!)).toHaveLength(1)
  })
})

describe('access', () => {
  it('answers 401 without a valid token, before reading the body', async () => {
    for (const res of [
      await send('GET', undefined),
      await upload(undefined, audioFixtures['speech.opus']),
      await send('DELETE', undefined),
      await upload('not-a-token', audioFixtures['speech.opus']),
    ]) {
      expect(res.status).toBe(401)
      expect((await problem(res)).code).toBe('unauthorized')
    }
  })

  it('answers 403 to a deactivated account', async () => {
    const member = await account('member', { status: 'deactivated', deactivatedAt: new Date() })
    for (const res of [
      await send('GET', member.token),
      await upload(member.token, audioFixtures['speech.opus']),
      await send('DELETE', member.token),
    ]) {
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('forbidden')
    }
    expect(await rowOf(member.id)).toBeUndefined()
  })

  it("only ever touches the caller's own voice bio", async () => {
    const alice = await account()
    const bob = await account()
    const alices = (await (await upload(alice.token, audioFixtures['speech.m4a'])).json()) as VoiceBio

    // Bob has none: reading and deleting do not find Alice's.
    expect((await send('GET', bob.token)).status).toBe(404)
    expect((await send('DELETE', bob.token)).status).toBe(404)
    // Bob's upload creates his own (201), not a replacement of hers.
    const bobs = await upload(bob.token, audioFixtures['speech.opus'])
    expect(bobs.status).toBe(201)
    expect((await send('DELETE', bob.token)).status).toBe(204)

    expect(await (await send('GET', alice.token)).json()).toEqual(alices)
    expect(await queued(keyOf(alices))).toHaveLength(0)
    expect(await env.AUDIO_BUCKET.head(keyOf(alices))).not.toBeNull()
  })

  it("is removed with the account, and the account's object queued", async () => {
    const member = await account()
    const bio = (await (await upload(member.token, audioFixtures['speech.aac'])).json()) as VoiceBio
    await s.database.db.delete(users).where(eq(users.id, member.id))
    expect(await rowOf(member.id)).toBeUndefined()
    expect(await queued(keyOf(bio))).toHaveLength(1)
  })
})
