/**
 * A local fake of RevenueCat's webhook sender, for tests and `npm run dev`. RevenueCat POSTs
 * `{"api_version": "1.0", "event": {…}}` to the configured URL with the Authorization header
 * value set in its dashboard and, when signing is on, `X-RevenueCat-Signature` (HMAC-SHA256 of the
 * body, hex). Events carry `id`, `type`, `app_user_id`, `original_app_user_id`, `aliases`,
 * `entitlement_ids`, `product_id`, `period_type`, `purchased_at_ms`, `expiration_at_ms`,
 * `event_timestamp_ms`, `store`, `environment`, and for TRANSFER `transferred_from`/`_to`.
 *
 * Control API (not RevenueCat's protocol): `POST /__fake/events` with a partial event (at least
 * `type`) → `{delivery: {body, headers, status?}}`; missing fields get RevenueCat's usual values.
 * With a `webhookUrl` the fake POSTs the event there too; in-process callers use `event()`.
 *
 * @example
 * const rc = await startRevenueCatFake({ authorization: 'Bearer rc-secret', webhookUrl })
 * await rc.event({ type: 'INITIAL_PURCHASE', app_user_id: memberId, entitlement_ids: ['gold'] })
 */
import { createHmac, randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface RevenueCatDelivery {
  body: string
  headers: Record<string, string>
  status?: number
}

export interface RevenueCatFake {
  url: string
  event(fields: Record<string, unknown> & { type: string }): Promise<RevenueCatDelivery>
  close(): Promise<void>
}

export function revenueCatEvent(fields: Record<string, unknown> & { type: string }): Record<string, unknown> {
  const now = Date.now()
  const appUserId =
    (fields.app_user_id as string | undefined) ?? `$RCAnonymousID:${randomUUID().replaceAll('-', '')}`
  return {
    id: randomUUID().toUpperCase(),
    app_id: 'app1234567',
    app_user_id: appUserId,
    original_app_user_id: appUserId,
    aliases: [appUserId],
    entitlement_ids: ['gold'],
    product_id: 'rapport_gold_monthly',
    period_type: 'NORMAL',
    purchased_at_ms: now,
    expiration_at_ms: now + 30 * 86_400_000,
    event_timestamp_ms: now,
    environment: 'SANDBOX',
    store: 'APP_STORE',
    currency: 'USD',
    price: 9.99,
    price_in_purchased_currency: 9.99,
    transaction_id: String(Math.floor(Math.random() * 1e15)),
    original_transaction_id: String(Math.floor(Math.random() * 1e15)),
    is_family_share: false,
    country_code: 'US',
    subscriber_attributes: {},
    ...fields,
  }
}

export async function startRevenueCatFake(opts: {
  /** The Authorization header value configured in RevenueCat's dashboard. */
  authorization: string
  signingSecret?: string
  webhookUrl?: string
  port?: number
}): Promise<RevenueCatFake> {
  async function event(fields: Record<string, unknown> & { type: string }): Promise<RevenueCatDelivery> {
    const body = JSON.stringify({ api_version: '1.0', event: revenueCatEvent(fields) })
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      authorization: opts.authorization,
      'user-agent': 'RevenueCat',
    }
    if (opts.signingSecret) {
      headers['x-revenuecat-signature'] = createHmac('sha256', opts.signingSecret).update(body).digest('hex')
    }
    const delivery: RevenueCatDelivery = { body, headers }
    if (opts.webhookUrl) {
      const res = await fetch(opts.webhookUrl, { method: 'POST', headers, body })
      delivery.status = res.status
      await res.arrayBuffer()
    }
    return delivery
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      void (async () => {
        if (req.method !== 'POST' || req.url !== '/__fake/events') {
          res.writeHead(404).end()
          return
        }
        try {
          const fields = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type?: unknown }
          if (typeof fields.type !== 'string') throw new Error('type is required')
          const delivery = await event(fields as Record<string, unknown> & { type: string })
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ delivery }))
        } catch (err) {
          res
            .writeHead(400, { 'content-type': 'application/json' })
            .end(JSON.stringify({ error: String(err) }))
        }
      })()
    })
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    event,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
