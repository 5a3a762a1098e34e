import { createHash, createHmac } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ThirdPartyFakes, startThirdPartyFakes } from '../../scripts/local-stack/third-parties'

/**
 * The sign-in and purchase stand-ins speak the real services' formats: tokens verify against the
 * served key sets as any OpenID client would verify Google's and Apple's; Stripe answers its API
 * with Stripe's form encoding and errors and signs webhooks as Stripe documents; RevenueCat
 * deliveries carry the configured Authorization value and the body's HMAC.
 */

interface Received {
  path: string
  headers: Record<string, string | string[] | undefined>
  body: string
}
const received: Received[] = []
let receiver: ReturnType<typeof createServer>
let fakes: ThirdPartyFakes

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      })
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}')
    })
  })
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))
  fakes = await startThirdPartyFakes({
    apiUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
  })
})

afterAll(async () => {
  await fakes?.stop()
  await new Promise<void>((r) => receiver.close(() => r()))
})

describe('local OpenID provider', () => {
  it('serves key sets with a max-age and mints tokens that verify against them', async () => {
    const res = await fetch(fakes.idp.googleJwksUrl)
    expect(res.headers.get('cache-control')).toMatch(/max-age=\d+/)
    const { keys } = (await res.json()) as { keys: { kty: string; alg: string; kid: string; use: string }[] }
    expect(keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' })

    const google = await jwtVerify(
      await fakes.idp.mint('google'),
      createRemoteJWKSet(new URL(fakes.idp.googleJwksUrl)),
      {
        issuer: 'https://accounts.google.com',
        audience: fakes.googleClientId,
      },
    )
    expect(google.payload).toMatchObject({ email_verified: true })
    const apple = await jwtVerify(
      await fakes.idp.mint('apple', { nonce: 'abc' }),
      createRemoteJWKSet(new URL(fakes.idp.appleJwksUrl)),
      { issuer: 'https://appleid.apple.com', audience: fakes.appleClientId },
    )
    expect(apple.payload).toMatchObject({ nonce: 'abc', email_verified: 'true' })
    // Google's keys do not verify Apple's tokens.
    await expect(
      jwtVerify(await fakes.idp.mint('apple'), createRemoteJWKSet(new URL(fakes.idp.googleJwksUrl))),
    ).rejects.toThrow()
  })
})

describe('Stripe fake', () => {
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString()
  const post = (path: string, body: string, key = fakes.vars.STRIPE_SECRET_KEY) =>
    fetch(`${fakes.stripe.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/x-www-form-urlencoded' },
      body,
    })

  it('refuses a wrong API key as Stripe does', async () => {
    const res = await post('/v1/checkout/sessions', '', 'sk_test_wrong')
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error' } })
  })

  it('creates a checkout session from bracketed form fields and signs its webhooks like Stripe', async () => {
    const res = await post(
      '/v1/checkout/sessions',
      form({
        mode: 'subscription',
        'line_items[0][price]': fakes.stripePrice,
        'line_items[0][quantity]': '1',
        success_url: 'https://app.example/ok',
        cancel_url: 'https://app.example/no',
        client_reference_id: 'member-1',
        'subscription_data[metadata][user_id]': 'member-1',
      }),
    )
    expect(res.status).toBe(200)
    const session = (await res.json()) as { id: string; object: string; url: string }
    expect(session).toMatchObject({ object: 'checkout.session', url: expect.stringContaining(session.id) })

    received.length = 0
    const done = await fakes.stripe.completeCheckout(session.id)
    expect(done.deliveries.map((d) => [d.type, d.status])).toEqual([
      ['checkout.session.completed', 200],
      ['customer.subscription.created', 200],
    ])
    for (const r of received) {
      expect(r.path).toBe('/api/v1/webhooks/stripe')
      const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(r.headers['stripe-signature']))!
      const expected = createHmac('sha256', fakes.vars.STRIPE_WEBHOOK_SECRET!)
        .update(`${t}.${r.body}`)
        .digest('hex')
      expect(v1).toBe(expected)
      expect(Math.abs(Date.now() / 1000 - Number(t))).toBeLessThan(60)
    }
    const created = JSON.parse(received[1]!.body) as {
      type: string
      data: { object: Record<string, unknown> }
    }
    expect(created.data.object).toMatchObject({
      object: 'subscription',
      status: 'active',
      metadata: { user_id: 'member-1' },
    })
  })
})

describe('RevenueCat fake', () => {
  it('delivers {api_version, event} with the configured Authorization value and the body HMAC', async () => {
    received.length = 0
    const delivery = await fakes.revenueCat.event({ type: 'INITIAL_PURCHASE', app_user_id: 'member-1' })
    expect(delivery.status).toBe(200)
    const [r] = received
    expect(r!.path).toBe('/api/v1/webhooks/revenuecat')
    expect(createHash('sha256').update(String(r!.headers.authorization)).digest('hex')).toBe(
      fakes.vars.REVENUECAT_WEBHOOK_AUTH_SHA256,
    )
    expect(r!.headers['x-revenuecat-signature']).toBe(
      createHmac('sha256', fakes.vars.REVENUECAT_WEBHOOK_SIGNING_SECRET!).update(r!.body).digest('hex'),
    )
    expect(JSON.parse(r!.body)).toMatchObject({
      api_version: '1.0',
      event: { type: 'INITIAL_PURCHASE', app_user_id: 'member-1', entitlement_ids: ['gold'] },
    })
  })
})
