import { and, asc, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, inject, it } from 'vitest'
import { purchaseEvents, subscriptions, tiers, users } from '../../../src/db/schema'
import { hmacHex } from '../../../src/lib/crypto'
import { expireLapsedSubscriptions } from '../../../src/services/billing/entitlements'
import { testPaidTier, testRevenueCat, testStripe } from '../../support/constants'
import { account, call } from '../fixtures'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import worker from '../../../src/index'
import { api, envWith, origin, problem, services } from '../helpers'
import { uniqueIp } from '../auth-helpers'

declare module 'vitest' {
  export interface ProvidedContext {
    stripeUrl: string
  }
}

const s = services()
const db = s.database.db
let paidTierId: string

beforeAll(async () => {
  // A default tier older than the paid one, in case this file is the first to need tiers.
  if ((await db.select({ id: tiers.id }).from(tiers).limit(1)).length === 0) {
    await db.insert(tiers).values({ name: 'billing-default' }).onConflictDoNothing()
  }
  await db
    .insert(tiers)
    .values({ name: testPaidTier, features: { readReceipts: true, clubQuota: 100 } })
    .onConflictDoNothing()
  const [paid] = await db.select({ id: tiers.id }).from(tiers).where(eq(tiers.name, testPaidTier))
  paidTierId = paid!.id
})

const defaultTierId = async () =>
  (await db.select({ id: tiers.id }).from(tiers).orderBy(asc(tiers.createdAt)).limit(1))[0]!.id
const tierOf = async (userId: string) =>
  (await db.select({ tierId: users.tierId }).from(users).where(eq(users.id, userId)))[0]?.tierId
const eventsOf = (userId: string) => db.select().from(purchaseEvents).where(eq(purchaseEvents.userId, userId))

interface MySubscription {
  tier: string | null
  features: { readReceipts: boolean; clubQuota: number }
  subscriptions: {
    source: string
    store: string | null
    status: string
    renewsAt: string | null
    endsAt: string | null
  }[]
}
async function mySubscription(token: string): Promise<MySubscription> {
  const res = await call('GET', '/api/v1/me/subscription', token)
  expect(res.status).toBe(200)
  return (await res.json()) as MySubscription
}

// ---------------------------------------------------------------------------------------------
// RevenueCat

/** A RevenueCat delivery as RevenueCat signs it (Authorization value + HMAC of the body). */
async function revenueCat(
  event: Record<string, unknown>,
  opts: { authorization?: string; signature?: string | null } = {},
) {
  const now = Date.now()
  const body = JSON.stringify({
    api_version: '1.0',
    event: {
      id: crypto.randomUUID(),
      entitlement_ids: [testRevenueCat.entitlement],
      product_id: 'rapport_gold_monthly',
      store: 'APP_STORE',
      environment: 'SANDBOX',
      purchased_at_ms: now,
      expiration_at_ms: now + 30 * 86_400_000,
      event_timestamp_ms: now,
      ...event,
    },
  })
  const signature =
    opts.signature === undefined ? await hmacHex(testRevenueCat.signingSecret, body) : opts.signature
  return api('/api/v1/webhooks/revenuecat', {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'CF-Connecting-IP': uniqueIp(),
      authorization: opts.authorization ?? testRevenueCat.authorization,
      ...(signature === null ? {} : { 'x-revenuecat-signature': signature }),
    },
    body,
  })
}
const outcome = async (res: Response) => {
  expect(res.status).toBe(200)
  return ((await res.json()) as { outcome: string }).outcome
}

describe('RevenueCat webhook', () => {
  it('turns the paid tier on, keeps it through a cancellation, and returns the member to the default tier on expiry', async () => {
    const m = await account()
    const purchase = { id: crypto.randomUUID(), type: 'INITIAL_PURCHASE', app_user_id: m.id }
    expect(await outcome(await revenueCat(purchase))).toBe('applied')
    // Features apply on the next request: the account summary was forgotten.
    let mine = await mySubscription(m.token)
    expect(mine).toMatchObject({ tier: testPaidTier, features: { readReceipts: true, clubQuota: 100 } })
    expect(mine.subscriptions).toMatchObject([
      { source: 'revenuecat', store: 'APP_STORE', status: 'active', endsAt: null },
    ])
    expect(mine.subscriptions[0]!.renewsAt).toEqual(expect.any(String))

    const ends = Date.now() + 5 * 86_400_000
    expect(
      await outcome(await revenueCat({ type: 'CANCELLATION', app_user_id: m.id, expiration_at_ms: ends })),
    ).toBe('applied')
    mine = await mySubscription(m.token)
    expect(mine.tier).toBe(testPaidTier)
    expect(mine.subscriptions[0]).toMatchObject({
      status: 'cancelled',
      renewsAt: null,
      endsAt: new Date(ends).toISOString(),
    })

    expect(
      await outcome(
        await revenueCat({ type: 'EXPIRATION', app_user_id: m.id, expiration_at_ms: Date.now() }),
      ),
    ).toBe('applied')
    mine = await mySubscription(m.token)
    expect(mine.features.readReceipts).toBe(false)
    expect(await tierOf(m.id)).toBe(await defaultTierId())
    expect((await eventsOf(m.id)).map((e) => e.type).sort()).toEqual([
      'CANCELLATION',
      'EXPIRATION',
      'INITIAL_PURCHASE',
    ])
    // The member's data export carries their subscription and purchase events.
    const issued = await call('POST', '/api/v1/me/export-token', m.token)
    const { token } = (await issued.json()) as { token: string }
    const exported = (await (await api(`/api/v1/me/export/${token}`)).json()) as {
      subscriptions: { source: string; status: string }[]
      purchases: { type: string }[]
    }
    expect(exported.subscriptions).toMatchObject([{ source: 'revenuecat', status: 'expired' }])
    expect(exported.purchases.map((p) => p.type).sort()).toEqual([
      'CANCELLATION',
      'EXPIRATION',
      'INITIAL_PURCHASE',
    ])
  })

  it('acknowledges a duplicate delivery without writing it twice', async () => {
    const m = await account()
    const event = {
      id: crypto.randomUUID(),
      type: 'INITIAL_PURCHASE',
      app_user_id: m.id,
      event_timestamp_ms: Date.now(),
    }
    expect(await outcome(await revenueCat(event))).toBe('applied')
    expect(await outcome(await revenueCat(event))).toBe('duplicate')
    expect(await eventsOf(m.id)).toHaveLength(1)
  })

  it('never lets an older event undo a newer one (reordered deliveries)', async () => {
    const m = await account()
    const now = Date.now()
    expect(
      await outcome(await revenueCat({ type: 'EXPIRATION', app_user_id: m.id, event_timestamp_ms: now })),
    ).toBe('applied')
    const late = await revenueCat({ type: 'RENEWAL', app_user_id: m.id, event_timestamp_ms: now - 60_000 })
    expect(await outcome(late)).toBe('stale')
    expect(await tierOf(m.id)).not.toBe(paidTierId)
    expect((await eventsOf(m.id)).map((e) => e.type)).toEqual(['EXPIRATION'])
  })

  it('keeps the tier through a billing-issue grace period and not without one', async () => {
    const m = await account()
    await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id, event_timestamp_ms: Date.now() - 2000 })
    await revenueCat({
      type: 'BILLING_ISSUE',
      app_user_id: m.id,
      event_timestamp_ms: Date.now() - 1000,
      grace_period_expiration_at_ms: Date.now() + 86_400_000,
    })
    expect(await tierOf(m.id)).toBe(paidTierId)
    await revenueCat({ type: 'BILLING_ISSUE', app_user_id: m.id, grace_period_expiration_at_ms: null })
    expect(await tierOf(m.id)).not.toBe(paidTierId)
  })

  it('returns a member whose paid period ran out without a closing event to the default tier (cron)', async () => {
    const m = await account()
    await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id })
    expect(await tierOf(m.id)).toBe(paidTierId)
    await db
      .update(subscriptions)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(subscriptions.userId, m.id))
    expect(await tierOf(m.id)).toBe(paidTierId)
    const { expired } = await expireLapsedSubscriptions(s)
    expect(expired).toBeGreaterThanOrEqual(1)
    expect(await tierOf(m.id)).toBe(await defaultTierId())
    expect((await mySubscription(m.token)).subscriptions[0]).toMatchObject({
      status: 'expired',
      renewsAt: null,
    })
  })

  it('moves the tier on TRANSFER', async () => {
    const [a, b] = [await account(), await account()]
    await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: a.id, event_timestamp_ms: Date.now() - 1000 })
    expect(await tierOf(a.id)).toBe(paidTierId)
    const res = await revenueCat({
      type: 'TRANSFER',
      transferred_from: [a.id],
      transferred_to: [b.id],
      app_user_id: null,
    })
    expect(await outcome(res)).toBe('applied')
    expect(await tierOf(b.id)).toBe(paidTierId)
    expect(await tierOf(a.id)).not.toBe(paidTierId)
  })

  it('acknowledges events for members who deleted their account, writing nothing', async () => {
    const m = await account()
    await db.delete(users).where(eq(users.id, m.id))
    const before = await db.$count(purchaseEvents)
    expect(await outcome(await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id }))).toBe(
      'unknown_member',
    )
    expect(
      await outcome(await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: '$RCAnonymousID:abc' })),
    ).toBe('unknown_member')
    expect(await outcome(await revenueCat({ type: 'TEST', app_user_id: m.id }))).toBe('ignored')
    expect(await db.$count(purchaseEvents)).toBe(before)
    expect(await db.select().from(subscriptions).where(eq(subscriptions.userId, m.id))).toEqual([])
  })

  it('ignores types it does not act on and entitlements that map to no tier', async () => {
    const m = await account()
    expect(await outcome(await revenueCat({ type: 'SUBSCRIPTION_PAUSED', app_user_id: m.id }))).toBe(
      'ignored',
    )
    expect(
      await outcome(
        await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id, entitlement_ids: ['other'] }),
      ),
    ).toBe('ignored')
    expect(await eventsOf(m.id)).toEqual([])
  })

  it('refuses a forged Authorization (401) or signature (400) and writes nothing', async () => {
    const m = await account()
    const forged = await revenueCat(
      { type: 'INITIAL_PURCHASE', app_user_id: m.id },
      { authorization: 'Bearer guess' },
    )
    expect(forged.status).toBe(401)
    expect((await problem(forged)).code).toBe('invalid_webhook_auth')
    const missing = await api('/api/v1/webhooks/revenuecat', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    })
    expect(missing.status).toBe(401)
    for (const signature of ['00'.repeat(32), null]) {
      const res = await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id }, { signature })
      expect(res.status).toBe(400)
      expect((await problem(res)).code).toBe('invalid_signature')
    }
    expect(await eventsOf(m.id)).toEqual([])
    expect(await tierOf(m.id)).not.toBe(paidTierId)
  })

  it('answers a well-signed body without an event with 422', async () => {
    const body = JSON.stringify({ api_version: '1.0' })
    const res = await api('/api/v1/webhooks/revenuecat', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: testRevenueCat.authorization,
        'x-revenuecat-signature': await hmacHex(testRevenueCat.signingSecret, body),
      },
      body,
    })
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.[0]?.path).toMatch(/^json\.event/)
  })
})

// ---------------------------------------------------------------------------------------------
// Stripe

interface Delivery {
  type: string
  body: string
  headers: Record<string, string>
}

/** Drive the Stripe fake's control API; it answers the signed events Stripe would send. */
async function stripeControl(
  path: string,
  method = 'POST',
  body?: unknown,
): Promise<{ deliveries: Delivery[]; subscription?: string }> {
  const res = await fetch(`${inject('stripeUrl')}/__fake/${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`stripe fake: ${res.status} ${await res.text()}`)
  return (await res.json()) as { deliveries: Delivery[]; subscription?: string }
}
const deliver = (d: Pick<Delivery, 'body' | 'headers'>) =>
  api('/api/v1/webhooks/stripe', { method: 'POST', headers: d.headers, body: d.body })

/** A Stripe-signed delivery built here (for forged, replayed and hand-made events). */
async function stripeEvent(
  type: string,
  object: Record<string, unknown>,
  opts: { t?: number; created?: number; secret?: string } = {},
) {
  const t = opts.t ?? Math.floor(Date.now() / 1000)
  const body = JSON.stringify({
    id: `evt_${crypto.randomUUID()}`,
    object: 'event',
    type,
    created: opts.created ?? t,
    data: { object },
  })
  const v1 = await hmacHex(opts.secret ?? testStripe.webhookSecret, `${t}.${body}`)
  return { body, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${t},v1=${v1}` } }
}

async function checkout(token: string) {
  const res = await call('POST', '/api/v1/billing/checkout', token, { priceId: testStripe.price })
  expect(res.status).toBe(201)
  const session = (await res.json()) as { id: string; url: string }
  expect(session.url).toContain(session.id)
  return session
}

describe('Stripe', () => {
  it('checkout → paid tier at once → portal → deleted subscription → default tier', async () => {
    const m = await account()
    const session = await checkout(m.token)
    const { deliveries, subscription } = await stripeControl(`checkout/${session.id}/complete`)
    for (const d of deliveries) expect(await outcome(await deliver(d))).toBe('applied')
    let mine = await mySubscription(m.token)
    expect(mine).toMatchObject({ tier: testPaidTier, features: { readReceipts: true } })
    expect(mine.subscriptions).toMatchObject([{ source: 'stripe', store: 'stripe', status: 'active' }])
    expect(mine.subscriptions[0]!.renewsAt).toEqual(expect.any(String))

    // A second checkout while subscribed is refused.
    const again = await call('POST', '/api/v1/billing/checkout', m.token, { priceId: testStripe.price })
    expect(again.status).toBe(409)
    expect((await problem(again)).code).toBe('already_subscribed')

    const portal = await call('POST', '/api/v1/billing/portal', m.token)
    expect(portal.status).toBe(201)
    expect(((await portal.json()) as { url: string }).url).toMatch(/\/p\/session\/bps_/)

    const cancelled = await stripeControl(`subscriptions/${subscription}/cancel`)
    expect(await outcome(await deliver(cancelled.deliveries[0]!))).toBe('applied')
    mine = await mySubscription(m.token)
    expect(mine.subscriptions[0]).toMatchObject({ status: 'cancelled', renewsAt: null })
    expect(mine.tier).toBe(testPaidTier)

    const deleted = await stripeControl(`subscriptions/${subscription}`, 'DELETE')
    const last = deleted.deliveries[0]!
    expect(await outcome(await deliver(last))).toBe('applied')
    expect(await tierOf(m.id)).toBe(await defaultTierId())
    expect((await mySubscription(m.token)).features.readReceipts).toBe(false)
    // Duplicate delivery of the same event: acknowledged, nothing written.
    expect(await outcome(await deliver(last))).toBe('duplicate')
    expect((await eventsOf(m.id)).map((e) => e.type).sort()).toEqual([
      'checkout.session.completed',
      'customer.subscription.created',
      'customer.subscription.deleted',
      'customer.subscription.updated',
    ])
  })

  it('keeps access through a failed payment Stripe will retry, and ends it when none is left', async () => {
    const m = await account()
    const session = await checkout(m.token)
    const { deliveries, subscription } = await stripeControl(`checkout/${session.id}/complete`)
    for (const d of deliveries) await deliver(d)
    const failed = await stripeControl(`subscriptions/${subscription}/payment_failed`)
    for (const d of failed.deliveries) expect(await outcome(await deliver(d))).toBe('applied')
    expect(await tierOf(m.id)).toBe(paidTierId)
    expect((await mySubscription(m.token)).subscriptions[0]!.status).toBe('billing_issue')
    const final = await stripeControl(`subscriptions/${subscription}/payment_failed`, 'POST', { final: true })
    for (const d of final.deliveries) expect(await outcome(await deliver(d))).toBe('applied')
    expect(await tierOf(m.id)).toBe(await defaultTierId())
    expect((await mySubscription(m.token)).subscriptions[0]!.status).toBe('expired')
  })

  it('never lets an older event undo a newer one', async () => {
    const m = await account()
    const session = await checkout(m.token)
    const { deliveries } = await stripeControl(`checkout/${session.id}/complete`)
    const created = deliveries.find((d) => d.type === 'customer.subscription.created')!
    const sub = (JSON.parse(created.body) as { data: { object: Record<string, unknown> } }).data.object
    const deleted = await stripeEvent('customer.subscription.deleted', { ...sub, status: 'canceled' })
    expect(await outcome(await deliver(deleted))).toBe('applied')
    // The purchase events arrive after the deletion that followed them.
    const older = Math.floor(Date.now() / 1000) - 120
    const lateCreated = await stripeEvent('customer.subscription.created', sub, { created: older })
    expect(await outcome(await deliver(lateCreated))).toBe('stale')
    expect(await tierOf(m.id)).not.toBe(paidTierId)
  })

  it('refuses forged and replayed deliveries with 400 invalid_signature, writing nothing', async () => {
    const m = await account()
    const object = {
      id: `cs_${crypto.randomUUID()}`,
      object: 'checkout.session',
      mode: 'subscription',
      client_reference_id: m.id,
      customer: 'cus_forged',
      metadata: { user_id: m.id, price_id: testStripe.price },
    }
    const forged = await stripeEvent('checkout.session.completed', object, { secret: 'whsec_not_the_secret' })
    const replayed = await stripeEvent('checkout.session.completed', object, {
      t: Math.floor(Date.now() / 1000) - 301,
    })
    const future = await stripeEvent('checkout.session.completed', object, {
      t: Math.floor(Date.now() / 1000) + 3600,
    })
    const tampered = await stripeEvent('checkout.session.completed', object)
    tampered.body = tampered.body.replace(m.id, crypto.randomUUID())
    const unsigned = { body: forged.body, headers: { 'content-type': 'application/json' } }
    for (const d of [forged, replayed, future, tampered, unsigned]) {
      const res = await deliver(d)
      expect(res.status).toBe(400)
      expect((await problem(res)).code).toBe('invalid_signature')
    }
    expect(await eventsOf(m.id)).toEqual([])
    expect(await tierOf(m.id)).not.toBe(paidTierId)
  })

  it('acknowledges an event for a deleted member without writing', async () => {
    const m = await account()
    const session = await checkout(m.token)
    await db.delete(users).where(eq(users.id, m.id))
    const { deliveries } = await stripeControl(`checkout/${session.id}/complete`)
    for (const d of deliveries) expect(await outcome(await deliver(d))).toBe('unknown_member')
    expect(await db.select().from(subscriptions).where(eq(subscriptions.userId, m.id))).toEqual([])
  })

  it('answers checkout and portal errors: 401, 422 unknown price, 404 portal without a purchase', async () => {
    expect(
      (await call('POST', '/api/v1/billing/checkout', undefined, { priceId: testStripe.price })).status,
    ).toBe(401)
    expect((await call('POST', '/api/v1/billing/portal')).status).toBe(401)
    expect((await call('GET', '/api/v1/me/subscription')).status).toBe(401)
    const m = await account()
    const unknown = await call('POST', '/api/v1/billing/checkout', m.token, { priceId: 'price_nope' })
    expect(unknown.status).toBe(422)
    expect((await problem(unknown)).errors?.[0]?.path).toBe('json.priceId')
    const empty = await call('POST', '/api/v1/billing/checkout', m.token, {})
    expect(empty.status).toBe(422)
    const portal = await call('POST', '/api/v1/billing/portal', m.token)
    expect(portal.status).toBe(404)
    expect((await problem(portal)).code).toBe('not_found')
    expect(await db.select().from(subscriptions).where(eq(subscriptions.userId, m.id))).toEqual([])
  })
})

describe('unconfigured purchases', () => {
  it('answer 503 for checkout and both webhooks', async () => {
    const m = await account()
    const env = envWith({
      STRIPE_SECRET_KEY: '',
      STRIPE_WEBHOOK_SECRET: '',
      REVENUECAT_WEBHOOK_AUTH_SHA256: '',
    })
    const send = async (path: string, headers: Record<string, string> = {}) => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(
        new Request(`${origin}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'CF-Connecting-IP': uniqueIp(), ...headers },
          body: JSON.stringify({ priceId: testStripe.price }),
        }),
        env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return res
    }
    for (const res of [
      await send('/api/v1/billing/checkout', { authorization: `Bearer ${m.token}` }),
      await send('/api/v1/webhooks/stripe', { 'stripe-signature': 't=1,v1=00' }),
      await send('/api/v1/webhooks/revenuecat', { authorization: testRevenueCat.authorization }),
    ]) {
      expect(res.status).toBe(503)
      expect((await problem(res)).code).toBe('service_unavailable')
    }
  })
})

describe('purchase history (admin)', () => {
  it("lists a member's applied events for admins only", async () => {
    const [admin, m, other] = [await account('admin'), await account(), await account()]
    await revenueCat({ type: 'INITIAL_PURCHASE', app_user_id: m.id })
    const res = await call('GET', `/api/v1/user/${m.id}/purchases`, admin.token)
    expect(res.status).toBe(200)
    const page = (await res.json()) as {
      data: { source: string; type: string; tier: string }[]
      total_count: number
    }
    expect(page.total_count).toBe(1)
    expect(page.data[0]).toMatchObject({ source: 'revenuecat', type: 'INITIAL_PURCHASE', tier: testPaidTier })
    expect((await call('GET', `/api/v1/user/${m.id}/purchases`, other.token)).status).toBe(403)
    expect((await call('GET', `/api/v1/user/${m.id}/purchases`)).status).toBe(401)
    expect((await call('GET', `/api/v1/user/${crypto.randomUUID()}/purchases`, admin.token)).status).toBe(404)
    expect(
      (await call('GET', `/api/v1/user/${m.id}/purchases?items_per_page=1000`, admin.token)).status,
    ).toBe(422)
    expect(
      await db
        .select()
        .from(purchaseEvents)
        .where(and(eq(purchaseEvents.userId, other.id))),
    ).toEqual([])
  })
})
