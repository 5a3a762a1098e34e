import { env } from 'cloudflare:test'
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { messages, skips, storageDeletions } from '../../../src/db/schema'
import { MAX_UPLOAD_BYTES } from '../../../src/lib/http/upload'
import { pairOf } from '../../../src/services/chat/history'
import { cleanStorage } from '../../../src/services/media/storage-cleanup'
import { audioFixtures } from '../../fixtures/audio'
import { uniqueIp } from '../auth-helpers'
import { openConversation } from '../chat-socket'
import { account, member } from '../fixtures'
import { api, origin, problem, services } from '../helpers'

const s = services()

function upload(token: string | undefined, peerId: string, clientId: string | null, body: Uint8Array) {
  const query = clientId === null ? '' : `?client_id=${encodeURIComponent(clientId)}`
  return api(`/api/v1/conversations/${peerId}/voice${query}`, {
    method: 'PUT',
    headers: {
      'CF-Connecting-IP': uniqueIp(),
      'content-type': 'application/octet-stream',
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
    },
    body,
  })
}

interface VoiceAck {
  clientId: string
  seq: number
  createdAt: string
  audioUrl: string
}

/** Every key in this test file's audio bucket (R2 storage is per test file). */
async function audioKeys(): Promise<string[]> {
  return (await env.AUDIO_BUCKET.list()).objects.map((o) => o.key)
}

/** Audio keys in the bucket that no message names: each must be queued for deletion. */
async function unreferencedKeysAreQueued() {
  for (const key of await audioKeys()) {
    const [named] = await s.database.db
      .select({ seq: messages.seq })
      .from(messages)
      .where(eq(messages.audioKey, key))
    if (named) continue
    const [queued] = await s.database.db
      .select()
      .from(storageDeletions)
      .where(and(eq(storageDeletions.bucket, 'audio'), eq(storageDeletions.objectKey, key)))
    expect(queued, `${key} is neither named nor queued`).toBeDefined()
  }
}

/** Run the clean-up on rows queued before 1990 only: other test files' rows are left alone. */
const ancient = new Date(Date.UTC(1989, 0, 1))
const cleanAncient = () => cleanStorage(s, { batchSize: 10, graceMs: Date.now() - Date.UTC(1990, 0, 1) })

describe('voice messages', () => {
  it('stores the recording, sends it as a message and answers a resend with the same ack', async () => {
    const alice = await member()
    const bob = await member()
    const b = await openConversation(bob.token, alice.id)
    const res = await upload(alice.token, bob.id, 'voice-1', audioFixtures['speech.webm'])
    expect(res.status).toBe(201)
    const ack = (await res.json()) as VoiceAck
    expect(ack).toMatchObject({ clientId: 'voice-1', seq: 1 })
    const key = ack.audioUrl.split('/').pop()!
    expect(ack.audioUrl).toBe(`${origin}/media/audio/${key}`)
    expect(key).toMatch(/^[0-9a-f]{64}\.webm$/)
    expect((await env.AUDIO_BUCKET.head(key))?.httpMetadata?.contentType).toBe('audio/webm')

    const delivered = (await b.next((f) => f.type === 'message')).message as Record<string, unknown>
    expect(delivered).toMatchObject({ seq: 1, body: 'Voice message', senderId: alice.id })
    // One absolute URL everywhere: the REST ack, the socket frame and the REST history.
    expect(delivered.audioUrl).toBe(ack.audioUrl)
    const history = await api(`/api/v1/conversations/${alice.id}/messages`, {
      headers: { authorization: `Bearer ${bob.token}` },
    })
    expect(((await history.json()) as { data: { audioUrl: string }[] }).data[0]!.audioUrl).toBe(ack.audioUrl)
    // The recording can be played from the returned URL.
    const played = await api(new URL(ack.audioUrl).pathname)
    expect(played.status).toBe(200)

    const again = await upload(alice.token, bob.id, 'voice-1', audioFixtures['speech.opus'])
    expect(again.status).toBe(201)
    expect(await again.json()).toEqual(ack)
    const { memberA, memberB } = pairOf(alice.id, bob.id)
    const rows = await s.database.db
      .select()
      .from(messages)
      .where(and(eq(messages.memberA, memberA), eq(messages.memberB, memberB)))
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ audioKey: key, body: 'Voice message', isIntro: true })
    await unreferencedKeysAreQueued()
    b.ws.close()
  })

  it('keeps a recording a message names, and queues it for deletion when the message goes', async () => {
    const alice = await member()
    const bob = await member()
    const ack = (await (
      await upload(alice.token, bob.id, 'v', audioFixtures['speech.m4a'])
    ).json()) as VoiceAck
    const key = ack.audioUrl.split('/').pop()!
    // Queued by mistake: the clean-up re-checks messages.audio_key and keeps it.
    await s.database.db
      .insert(storageDeletions)
      .values({ bucket: 'audio', objectKey: key, queuedAt: ancient })
    expect(await cleanAncient()).toMatchObject({ kept: 1, deleted: 0 })
    expect(await env.AUDIO_BUCKET.head(key)).not.toBeNull()

    const { memberA, memberB } = pairOf(alice.id, bob.id)
    await s.database.db
      .delete(messages)
      .where(and(eq(messages.memberA, memberA), eq(messages.memberB, memberB)))
    const queued = await s.database.db
      .update(storageDeletions)
      .set({ queuedAt: ancient })
      .where(and(eq(storageDeletions.bucket, 'audio'), eq(storageDeletions.objectKey, key)))
      .returning()
    expect(queued).toHaveLength(1)
    expect(await cleanAncient()).toMatchObject({ deleted: 1 })
    expect(await env.AUDIO_BUCKET.head(key)).toBeNull()
  })

  it('refuses what is not accepted audio (415), damaged or too long (422) or over 10 MB (413), without storing it', async () => {
    const alice = await member()
    const bob = await member()
    const before = await audioKeys()
    for (const [file, status, code] of [
      ['video.mp4', 415, 'unsupported_media_type'],
      ['speech.wav', 415, 'unsupported_media_type'],
      ['mediarecorder-125s.webm', 422, 'validation_failed'],
    ] as const) {
      const res = await upload(alice.token, bob.id, crypto.randomUUID(), audioFixtures[file])
      expect(res.status, file).toBe(status)
      expect(await problem(res)).toMatchObject({ code, errors: [{ path: 'body' }] })
    }
    const cut = audioFixtures['speech.mp3'].subarray(0, audioFixtures['speech.mp3'].length - 50)
    expect((await upload(alice.token, bob.id, 'cut', cut)).status).toBe(422)
    expect((await upload(alice.token, bob.id, 'empty', new Uint8Array())).status).toBe(422)
    const huge = await upload(alice.token, bob.id, 'huge', new Uint8Array(MAX_UPLOAD_BYTES + 1))
    expect(huge.status).toBe(413)
    expect((await problem(huge)).code).toBe('payload_too_large')
    expect(await audioKeys()).toEqual(before)
  })

  it('refuses a voice message the rules refuse, and queues its recording for deletion', async () => {
    const alice = await member()
    const bob = await member()
    await s.database.db.insert(skips).values({ subjectId: bob.id, objectId: alice.id })
    const blocked = await upload(alice.token, bob.id, 'b', audioFixtures['speech.webm'])
    expect(blocked.status).toBe(403)
    expect((await problem(blocked)).code).toBe('blocked')
    const nobody = await upload(alice.token, crypto.randomUUID(), 'n', audioFixtures['speech.webm'])
    expect(nobody.status).toBe(404)
    await unreferencedKeysAreQueued()
  })

  it('answers 401, 409 and 422 for a wrong caller, peer or client id', async () => {
    const alice = await member()
    const bob = await member()
    const file = audioFixtures['speech.webm']
    expect((await upload(undefined, bob.id, 'x', file)).status).toBe(401)
    const self = await upload(alice.token, alice.id, 'x', file)
    expect(self.status).toBe(422)
    expect((await problem(self)).errors?.[0]?.path).toBe('param.peerId')
    const noId = await upload(alice.token, bob.id, null, file)
    expect(noId.status).toBe(422)
    expect((await problem(noId)).errors?.[0]?.path).toContain('client_id')
    expect((await upload(alice.token, bob.id, 'x'.repeat(129), file)).status).toBe(422)
    const onboarding = await account('member', { status: 'onboarding' })
    expect((await upload(onboarding.token, bob.id, 'x', file)).status).toBe(409)
    // Voice intros skip the uniqueness rule (every one has the body "Voice message").
    expect((await upload(alice.token, bob.id, 'first', file)).status).toBe(201)
    const carol = await member()
    expect((await upload(carol.token, bob.id, 'also', file)).status).toBe(201)
  })
})
