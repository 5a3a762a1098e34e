/**
 * A local fake of the parts of Stripe Rapport uses, for tests and `npm run dev`. The Worker talks
 * to it exactly as to `https://api.stripe.com` (STRIPE_API_URL), over real HTTP on 127.0.0.1:
 *
 * - `POST /v1/checkout/sessions` and `POST /v1/billing_portal/sessions`: form-encoded bodies with
 *   bracketed keys, `Authorization: Bearer <secret key>` (a wrong key is Stripe's 401
 *   `{error: {type: "invalid_request_error", message}}`), answering `checkout.session` and
 *   `billing_portal.session` objects with their `url`.
 * - Webhooks as Stripe sends them: a JSON `event` (`id`, `object`, `api_version`, `created`,
 *   `type`, `data.object`, `livemode`, `pending_webhooks`, `request`) POSTed with
 *   `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the endpoint secret>`.
 *
 * What a customer does on Stripe's hosted pages is driven through a control API (`/__fake`, not
 * Stripe's protocol): completing a checkout (customer, subscription, `checkout.session.completed`
 * and `customer.subscription.created`), cancelling at period end, a failed renewal, deleting the
 * subscription. Each answers `{deliveries: [{type, body, headers, status?}]}`; with a `webhookUrl`
 * the fake also POSTs them there (and reports the status), otherwise the caller delivers them.
 *
 * @example
 * const stripe = await startStripeFake({ secretKey: 'sk_test_x', webhookSecret: 'whsec_x', webhookUrl })
 * // STRIPE_API_URL = stripe.url
 * await stripe.completeCheckout(sessionId)
 */
import { createHmac, randomBytes } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Delivery {
  type: string
  body: string
  headers: Record<string, string>
  /** The receiver's status, when the fake delivered it. */
  status?: number
}

interface Subscription {
  id: string
  customer: string
  status: string
  price: string
  metadata: Record<string, string>
  cancel_at_period_end: boolean
  current_period_start: number
  current_period_end: number
  created: number
}

export interface StripeFake {
  url: string
  completeCheckout(
    sessionId: string,
  ): Promise<{ customer: string; subscription: string; deliveries: Delivery[] }>
  cancelAtPeriodEnd(subscriptionId: string): Promise<Delivery[]>
  failPayment(subscriptionId: string, opts?: { final?: boolean }): Promise<Delivery[]>
  deleteSubscription(subscriptionId: string): Promise<Delivery[]>
  /** A signed delivery of any event object (e.g. with an old timestamp, for replay tests). */
  sign(
    type: string,
    object: Record<string, unknown>,
    opts?: { timestamp?: number; created?: number },
  ): Delivery
  close(): Promise<void>
}

const id = (prefix: string) => `${prefix}_test_${randomBytes(12).toString('hex')}`
const now = () => Math.floor(Date.now() / 1000)

/** Stripe's bracketed form keys back into nested objects (`a[b][0][c]=v`). */
function parseForm(body: string): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.replace(/\]/g, '').split('[')
    let node = out as Record<string, unknown>
    path.forEach((part, i) => {
      if (i === path.length - 1) node[part] = value
      else node = (node[part] ??= {}) as Record<string, unknown>
    })
  }
  return out
}

export async function startStripeFake(opts: {
  secretKey: string
  webhookSecret: string
  webhookUrl?: string
  port?: number
}): Promise<StripeFake> {
  const sessions = new Map<string, Record<string, unknown>>()
  const subscriptions = new Map<string, Subscription>()
  let url = ''

  function sign(
    type: string,
    object: Record<string, unknown>,
    o: { timestamp?: number; created?: number } = {},
  ) {
    const event = {
      id: id('evt'),
      object: 'event',
      api_version: '2025-03-31.basil',
      created: o.created ?? now(),
      data: { object },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
    }
    const body = JSON.stringify(event, null, 2)
    const t = o.timestamp ?? now()
    const v1 = createHmac('sha256', opts.webhookSecret).update(`${t}.${body}`).digest('hex')
    return {
      type,
      body,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': `t=${t},v1=${v1}`,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
    }
  }

  async function deliver(list: Delivery[]): Promise<Delivery[]> {
    if (!opts.webhookUrl) return list
    for (const d of list) {
      const res = await fetch(opts.webhookUrl, { method: 'POST', headers: d.headers, body: d.body })
      d.status = res.status
      await res.arrayBuffer()
    }
    return list
  }

  const subscriptionObject = (s: Subscription) => ({
    id: s.id,
    object: 'subscription',
    customer: s.customer,
    status: s.status,
    cancel_at_period_end: s.cancel_at_period_end,
    canceled_at: s.status === 'canceled' ? now() : null,
    created: s.created,
    metadata: s.metadata,
    items: {
      object: 'list',
      data: [
        {
          id: id('si'),
          object: 'subscription_item',
          price: { id: s.price, object: 'price', recurring: { interval: 'month' } },
          quantity: 1,
          current_period_start: s.current_period_start,
          current_period_end: s.current_period_end,
        },
      ],
    },
    livemode: false,
  })

  function subscription(sid: string): Subscription {
    const s = subscriptions.get(sid)
    if (!s) throw new Error(`no subscription ${sid}`)
    return s
  }

  async function completeCheckout(sessionId: string) {
    const session = sessions.get(sessionId)
    if (!session) throw new Error(`no checkout session ${sessionId}`)
    const customer = (session.customer as string | null) ?? id('cus')
    const lineItems = session.line_items as Record<string, { price: string }>
    const created = now()
    const sub: Subscription = {
      id: id('sub'),
      customer,
      status: 'active',
      price: lineItems['0']!.price,
      metadata: ((session.subscription_data as { metadata?: Record<string, string> }) ?? {}).metadata ?? {},
      cancel_at_period_end: false,
      current_period_start: created,
      current_period_end: created + 30 * 86_400,
      created,
    }
    subscriptions.set(sub.id, sub)
    Object.assign(session, { status: 'complete', payment_status: 'paid', customer, subscription: sub.id })
    const deliveries = await deliver([
      sign('checkout.session.completed', session),
      sign('customer.subscription.created', subscriptionObject(sub)),
    ])
    return { customer, subscription: sub.id, deliveries }
  }

  async function cancelAtPeriodEnd(sid: string) {
    const sub = subscription(sid)
    sub.cancel_at_period_end = true
    return deliver([sign('customer.subscription.updated', subscriptionObject(sub))])
  }

  async function failPayment(sid: string, o: { final?: boolean } = {}) {
    const sub = subscription(sid)
    sub.status = o.final ? 'unpaid' : 'past_due'
    const invoice = {
      id: id('in'),
      object: 'invoice',
      customer: sub.customer,
      status: 'open',
      attempt_count: o.final ? 4 : 1,
      next_payment_attempt: o.final ? null : now() + 3 * 86_400,
      parent: { type: 'subscription_details', subscription_details: { subscription: sub.id } },
    }
    return deliver([
      sign('invoice.payment_failed', invoice),
      sign('customer.subscription.updated', subscriptionObject(sub)),
    ])
  }

  async function deleteSubscription(sid: string) {
    const sub = subscription(sid)
    sub.status = 'canceled'
    return deliver([sign('customer.subscription.deleted', subscriptionObject(sub))])
  }

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': id('req') })
    res.end(JSON.stringify(body))
  }
  const stripeError = (res: ServerResponse, status: number, message: string, param?: string) =>
    send(res, status, { error: { type: 'invalid_request_error', message, ...(param ? { param } : {}) } })

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const path = new URL(req.url ?? '/', 'http://x').pathname

    if (path.startsWith('/__fake/')) {
      const [, , kind, target, action] = path.split('/')
      try {
        if (kind === 'checkout' && action === 'complete')
          return send(res, 200, await completeCheckout(target!))
        if (kind === 'subscriptions' && action === 'cancel')
          return send(res, 200, { deliveries: await cancelAtPeriodEnd(target!) })
        if (kind === 'subscriptions' && action === 'payment_failed') {
          return send(res, 200, {
            deliveries: await failPayment(target!, { final: raw.includes('"final":true') }),
          })
        }
        if (kind === 'subscriptions' && req.method === 'DELETE')
          return send(res, 200, { deliveries: await deleteSubscription(target!) })
      } catch (err) {
        return send(res, 404, { error: String(err) })
      }
      return send(res, 404, { error: 'unknown control call' })
    }

    if (req.headers.authorization !== `Bearer ${opts.secretKey}`) {
      return send(res, 401, {
        error: { type: 'invalid_request_error', message: 'Invalid API Key provided' },
      })
    }
    if (req.method !== 'POST')
      return stripeError(res, 404, `Unrecognized request URL (${req.method}: ${path})`)
    const params = parseForm(raw)

    if (path === '/v1/checkout/sessions') {
      if (params.mode !== 'subscription')
        return stripeError(res, 400, 'Missing required param: mode.', 'mode')
      const items = params.line_items as Record<string, { price?: string }> | undefined
      if (!items?.['0']?.price)
        return stripeError(res, 400, 'Missing required param: line_items.', 'line_items')
      for (const key of ['success_url', 'cancel_url'] as const) {
        if (typeof params[key] !== 'string' || !/^https?:\/\//.test(params[key])) {
          return stripeError(res, 400, `Invalid URL: ${key}`, key)
        }
      }
      const sid = id('cs')
      const session = {
        id: sid,
        object: 'checkout.session',
        mode: 'subscription',
        status: 'open',
        payment_status: 'unpaid',
        url: `${url}/c/pay/${sid}`,
        client_reference_id: params.client_reference_id ?? null,
        customer: params.customer ?? null,
        customer_email: params.customer_email ?? null,
        metadata: params.metadata ?? {},
        subscription: null,
        success_url: params.success_url,
        cancel_url: params.cancel_url,
        subscription_data: params.subscription_data ?? {},
        line_items: items,
        created: now(),
        livemode: false,
      }
      sessions.set(sid, session)
      const { line_items: _items, subscription_data: _data, ...visible } = session
      return send(res, 200, visible)
    }
    if (path === '/v1/billing_portal/sessions') {
      if (typeof params.customer !== 'string')
        return stripeError(res, 400, 'Missing required param: customer.', 'customer')
      const pid = id('bps')
      return send(res, 200, {
        id: pid,
        object: 'billing_portal.session',
        customer: params.customer,
        return_url: params.return_url ?? null,
        url: `${url}/p/session/${pid}`,
        created: now(),
        livemode: false,
      })
    }
    return stripeError(res, 404, `Unrecognized request URL (POST: ${path})`)
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) =>
      send(res, 500, { error: { type: 'api_error', message: String(err) } }),
    )
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    completeCheckout,
    cancelAtPeriodEnd,
    failPayment,
    deleteSubscription,
    sign,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
