import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import { eq } from 'drizzle-orm'
import { clubs, memberClubs, profiles } from '../../src/db/schema'
import { openConversation, opener, sendMessage } from '../workers/chat-socket'
import { call, member } from '../workers/fixtures'
import { problem, services } from '../workers/helpers'

/**
 * The database becomes unreachable in the middle of a run (the Neon stand-in of this project
 * points new connections at a closed port) and comes back. Requests that need it get a 503
 * `service_unavailable` with Retry-After — never a 500 — nothing is half written, one log line per
 * interval rather than a stack per request, and everything works again once it is back.
 */

declare module 'vitest' {
  export interface ProvidedContext {
    neonOutageUrl: string
  }
}

const s = services()

async function outage(down: '1' | 'tunnels' | '0') {
  const res = await fetch(`${inject('neonOutageUrl')}?down=${down}`, { method: 'POST' })
  expect(res.status).toBe(200)
}

async function expectUnavailable(res: Response) {
  expect(res.status).toBe(503)
  expect(res.headers.get('Retry-After')).toMatch(/^\d+$/)
  expect((await problem(res)).code).toBe('service_unavailable')
}

afterEach(async () => {
  await outage('0')
  vi.restoreAllMocks()
})

describe('when the database is unreachable', () => {
  it('a read answers 503 with Retry-After, logged once per interval, and works again after', async () => {
    const m = await member()
    const errors = vi.spyOn(console, 'error')
    await outage('1')
    await expectUnavailable(await call('GET', '/api/v1/me/profile', m.token))
    await expectUnavailable(await call('GET', '/api/v1/me/profile', m.token))
    await expectUnavailable(await call('GET', '/api/v1/tiers'))
    const outageLines = errors.mock.calls
      .map((c) => String(c[0]))
      .filter((l) => l.includes('database.unavailable'))
    expect(outageLines.length).toBeLessThanOrEqual(1)
    expect(errors.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('request.unhandled'))).toEqual(
      [],
    )
    await outage('0')
    expect((await call('GET', '/api/v1/me/profile', m.token)).status).toBe(200)
    expect((await call('GET', '/api/v1/tiers')).status).toBe(200)
  })

  it('a single write answers 503 and changes nothing; the same write succeeds after', async () => {
    const m = await member()
    await outage('1')
    await expectUnavailable(
      await call('PATCH', '/api/v1/me/profile', m.token, { about: 'written during the outage' }),
    )
    await outage('0')
    const [row] = await s.database.db.select().from(profiles).where(eq(profiles.userId, m.id))
    expect(row!.about).not.toBe('written during the outage')
    expect((await call('PATCH', '/api/v1/me/profile', m.token, { about: 'written after' })).status).toBe(200)
    const [after] = await s.database.db.select().from(profiles).where(eq(profiles.userId, m.id))
    expect(after!.about).toBe('written after')
  })

  it('a transaction that cannot reach the database answers 503 and leaves no trace', async () => {
    const m = await member()
    const name = `outage club ${crypto.randomUUID().slice(0, 8)}`
    const mine = () => s.database.db.select().from(memberClubs).where(eq(memberClubs.userId, m.id))
    const before = await mine()
    // Single statements still work; the interactive transaction (joining a club) cannot connect.
    await outage('tunnels')
    await expectUnavailable(await call('POST', '/api/v1/me/clubs', m.token, { name }))
    expect(await mine()).toEqual(before)
    expect(await s.database.db.select().from(clubs).where(eq(clubs.name, name))).toEqual([])
    await outage('0')
    expect((await call('POST', '/api/v1/me/clubs', m.token, { name })).status).toBe(201)
    expect((await mine()).map((c) => c.clubName)).toContain(name)
  })

  it('a chat send gets an error frame, never an ack, and the retry is acknowledged once it is back', async () => {
    const alice = await member()
    const bob = await member()
    const socket = await openConversation(alice.token, bob.id)
    const body = opener()
    await outage('1')
    const refused = await sendMessage(socket, body, 'outage-1')
    expect(refused).toMatchObject({ type: 'error', clientId: 'outage-1' })
    expect(socket.frames.filter((f) => f.type === 'ack')).toEqual([])
    await outage('0')
    expect(await sendMessage(socket, body, 'outage-1')).toMatchObject({
      type: 'ack',
      clientId: 'outage-1',
      seq: 1,
    })
    socket.ws.close()
  })
})
