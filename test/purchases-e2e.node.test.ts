import { createHash, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type ChatSocket,
  type ChatStack,
  type Member,
  createMembers,
  openHub,
  startChatStack,
} from '../bench/chat'

/**
 * Social sign-in and purchases end to end over `wrangler dev` (started as `npm run dev` starts
 * it, with the local OpenID provider, Stripe and RevenueCat stand-ins), real PostgreSQL and Redis:
 * a member signs in with Google, buys the paid tier through the Stripe fake (its signed webhooks
 * reach the Worker over HTTP), gets read receipts, loses them when the subscription is deleted;
 * the same with Apple and RevenueCat. Redis: logical database 8 (TEST_PURCHASES_REDIS_URL),
 * flushed; PostgreSQL: a fresh database, dropped afterwards.
 */

let stack: ChatStack
let dir: string
let bob: Member
const sockets: ChatSocket[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rapport-purchases-e2e-'))
  stack = await startChatStack({
    redisUrl: process.env.TEST_PURCHASES_REDIS_URL ?? 'redis://127.0.0.1:6379/8',
    dataDir: dir,
  })
  ;[bob] = (await createMembers(stack, 1)) as [Member]
}, 90_000)

afterAll(async () => {
  await Promise.all(sockets.map((s) => s.close().catch(() => {})))
  await stack?.stop()
  rmSync(dir, { recursive: true, force: true })
}, 30_000)

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null }
}

/** An onboarded member (made like the chat harness's) whose email Google or Apple will vouch for. */
async function onboardedMember(): Promise<{ id: string; email: string }> {
  const [m] = (await createMembers(stack, 1)) as [Member]
  const { rows } = await stack.pool.query<{ email: string }>('select email from users where id = $1', [m.id])
  return { id: m.id, email: rows[0]!.email }
}

const subscription = async (token: string) =>
  (await call('GET', '/api/v1/me/subscription', token)).body as {
    tier: string
    features: { readReceipts: boolean }
    subscriptions: { source: string; status: string }[]
  }

/**
 * Bob reads the buyer's newest message; resolves with the read receipt the buyer's inbox socket
 * got, or null when none came within `waitMs`.
 */
async function receiptAfterBobReads(buyer: { id: string; token: string }, hub: ChatSocket, waitMs = 1500) {
  const sent = await call('POST', `/api/v1/conversations/${bob.id}/messages`, buyer.token, {
    clientId: randomUUID(),
    body: `Hello Bob ${randomUUID()}`,
  })
  expect(sent.status).toBe(201)
  const read = await call('POST', `/api/v1/conversations/${buyer.id}/read`, bob.token)
  expect(read.status).toBe(200)
  const frames = await hub.drain(waitMs)
  return frames.find((f) => f.type === 'read' && f.peerId === bob.id) ?? null
}

describe('purchases over wrangler dev', () => {
  it('Google sign-in, Stripe checkout: read receipts at once; subscription deleted: back to the default tier', async () => {
    const member = await onboardedMember()
    const idToken = await stack.fakes.idp.mint('google', { email: member.email, email_verified: true })
    const signedIn = await call('POST', '/api/v1/auth/google', undefined, { idToken })
    expect(signedIn.status).toBe(200)
    const token = signedIn.body!.accessToken as string
    expect((signedIn.body!.user as { id: string }).id).toBe(member.id)
    expect((await subscription(token)).features.readReceipts).toBe(false)

    const checkout = await call('POST', '/api/v1/billing/checkout', token, {
      priceId: stack.fakes.stripePrice,
    })
    expect(checkout.status).toBe(201)
    const done = await stack.fakes.stripe.completeCheckout(checkout.body!.id as string)
    expect(done.deliveries.map((d) => d.status)).toEqual([200, 200])
    const paid = await subscription(token)
    expect(paid).toMatchObject({ tier: stack.fakes.paidTier, features: { readReceipts: true } })

    const hub = await openHub(stack.url, { id: member.id, token })
    sockets.push(hub)
    expect(await receiptAfterBobReads({ id: member.id, token }, hub)).toMatchObject({
      type: 'read',
      peerId: bob.id,
    })

    const deleted = await stack.fakes.stripe.deleteSubscription(done.subscription)
    expect(deleted.map((d) => d.status)).toEqual([200])
    const after = await subscription(token)
    expect(after.tier).toBe('free')
    expect(after.features.readReceipts).toBe(false)
    expect(after.subscriptions).toMatchObject([{ source: 'stripe', status: 'expired' }])
    // The conversation trusts its cached pair facts for 5 s; after that no receipt goes out.
    await new Promise((r) => setTimeout(r, 5_500))
    expect(await receiptAfterBobReads({ id: member.id, token }, hub)).toBeNull()
  }, 60_000)

  it('Apple sign-in, RevenueCat purchase: paid tier at once; expiration: back to the default tier', async () => {
    const member = await onboardedMember()
    const nonce = randomUUID()
    const identityToken = await stack.fakes.idp.mint('apple', {
      email: member.email,
      email_verified: 'true',
      is_private_email: 'false',
      nonce: createHash('sha256').update(nonce).digest('hex'),
    })
    const signedIn = await call('POST', '/api/v1/auth/apple', undefined, { identityToken, nonce })
    expect(signedIn.status).toBe(200)
    const token = signedIn.body!.accessToken as string
    expect((signedIn.body!.user as { id: string }).id).toBe(member.id)

    const bought = await stack.fakes.revenueCat.event({
      type: 'INITIAL_PURCHASE',
      app_user_id: member.id,
      entitlement_ids: [stack.fakes.revenueCatEntitlement],
    })
    expect(bought.status).toBe(200)
    expect(await subscription(token)).toMatchObject({
      tier: stack.fakes.paidTier,
      features: { readReceipts: true },
      subscriptions: [{ source: 'revenuecat', status: 'active' }],
    })
    const hub = await openHub(stack.url, { id: member.id, token })
    sockets.push(hub)
    expect(await receiptAfterBobReads({ id: member.id, token }, hub)).toMatchObject({
      type: 'read',
      peerId: bob.id,
    })

    const expired = await stack.fakes.revenueCat.event({ type: 'EXPIRATION', app_user_id: member.id })
    expect(expired.status).toBe(200)
    const after = await subscription(token)
    expect(after).toMatchObject({ tier: 'free', features: { readReceipts: false } })
    await new Promise((r) => setTimeout(r, 5_500))
    expect(await receiptAfterBobReads({ id: member.id, token }, hub)).toBeNull()
  }, 60_000)
})
