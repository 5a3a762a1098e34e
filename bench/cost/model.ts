/**
 * The price model of `npm run bench:cost`: what one member-day of usage costs on each provider's
 * published price sheet (docs/prices-2026-12.json), scaled to 1,000 daily active members over a
 * 30-day month, and how many daily active members each provider's free allowance holds.
 *
 * Pure arithmetic on a counts object, so test/cost-model.node.test.ts pins it.
 */

/** What one member does to each provider in one day (the crons' share included). */
export interface MemberDay {
  /** Worker invocations: HTTP requests (socket upgrades included), queue batches, cron runs. */
  workerRequests: number
  /** CPU milliseconds the Worker spent. */
  workerCpuMs: number
  /** Requests into Durable Objects billed one for one: HTTP and RPC calls, socket upgrades. */
  doRequests: number
  /** WebSocket messages received by Durable Objects (billed 20 to 1). */
  doWebSocketMessagesIn: number
  /** Seconds Durable Objects were active (running a handler, not hibernatable). */
  doActiveSeconds: number
  /** Upstash Redis commands (each one inside a pipeline or transaction counts). */
  upstashCommands: number
  /** Statements sent to Neon (informational: Neon bills compute time, not statements). */
  neonStatements: number
  /** Rows Neon returned (informational). */
  neonRows: number
  /** Database CPU seconds (one CU is one vCPU, so CU-seconds at full use). */
  neonCpuSeconds: number
  /** Bytes the database grew by. */
  neonStoredBytes: number
  /** R2 class A operations (put, list, multipart). */
  r2ClassA: number
  /** R2 class B operations (get, head). */
  r2ClassB: number
  /** Bytes added to R2. */
  r2StoredBytes: number
  /** Images binding transformations (each rendered variant of an upload). */
  imageTransformations: number
  /** Emails sent. */
  emails: number
  /** Queue messages sent (each is a write, a read and a delete). */
  queueMessages: number
}

export interface Prices {
  read: string
  providers: {
    workers: {
      source: string
      paid: {
        monthlyMinimum: number
        includedRequestsPerMonth: number
        dollarsPerMillionRequests: number
        includedCpuMsPerMonth: number
        dollarsPerMillionCpuMs: number
      }
      free: { requestsPerDay: number; cpuMsPerInvocationLimit: number }
    }
    durableObjects: {
      source: string
      billedMemoryGb: number
      incomingWebSocketMessagesPerBilledRequest: number
      paid: {
        includedRequestsPerMonth: number
        dollarsPerMillionRequests: number
        includedGbSecondsPerMonth: number
        dollarsPerMillionGbSeconds: number
      }
      free: { requestsPerDay: number; gbSecondsPerDay: number }
    }
    r2: {
      source: string
      paid: { dollarsPerGbMonth: number; dollarsPerMillionClassA: number; dollarsPerMillionClassB: number }
      free: { gbMonth: number; classAPerMonth: number; classBPerMonth: number }
    }
    images: {
      source: string
      paid: { dollarsPer1000Transformations: number }
      free: { transformationsPerMonth: number }
    }
    queues: {
      source: string
      operationsPerMessage: number
      paid: { includedOperationsPerMonth: number; dollarsPerMillionOperations: number }
      free: { operationsPerDay: number }
    }
    upstash: {
      source: string
      paid: { dollarsPer100kCommands: number }
      free: { commandsPerMonth: number }
    }
    neon: {
      source: string
      paid: { dollarsPerCuHour: number; dollarsPerGbMonth: number; minimumCu: number }
      free: { cuHoursPerMonth: number; storageGb: number }
    }
    email: {
      source: string
      paid: { dollarsPer1000Emails: number }
      free: { emailsPerMonth: number }
    }
  }
}

export const daysPerMonth = 30
const hoursPerMonth = 24 * daysPerMonth
const gb = 1e9

export type Provider =
  'workers' | 'durableObjects' | 'r2' | 'images' | 'queues' | 'upstash' | 'neon' | 'email'

export interface LineItem {
  provider: Provider
  item: string
  /** Monthly quantity for 1,000 daily active members, in `unit`. */
  quantity: number
  unit: string
  /** Dollars per month for 1,000 daily active members at the list unit price, before any allowance. */
  dollars: number
}

/** Billed Durable Object requests: calls one for one, incoming socket messages 20 to 1. */
export function billedDoRequests(day: MemberDay, prices: Prices): number {
  const d = prices.providers.durableObjects
  return day.doRequests + day.doWebSocketMessagesIn / d.incomingWebSocketMessagesPerBilledRequest
}

/** Durable Object duration in GB-seconds: active seconds at the billed 128 MB. */
export function doGbSeconds(day: MemberDay, prices: Prices): number {
  return day.doActiveSeconds * prices.providers.durableObjects.billedMemoryGb
}

/**
 * Every metered quantity of a month of 1,000 daily active members, at the list unit price with
 * no allowance: the usage cost that grows with the member count. Stored bytes are one month's
 * growth held for one month (each later month adds as much again).
 */
export function lineItems(day: MemberDay, prices: Prices): LineItem[] {
  const p = prices.providers
  const month = 1000 * daysPerMonth
  const items: LineItem[] = []
  const add = (provider: Provider, item: string, quantity: number, unit: string, dollars: number) =>
    items.push({ provider, item, quantity, unit, dollars })
  const requests = day.workerRequests * month
  add(
    'workers',
    'requests',
    requests,
    'requests',
    (requests / 1e6) * p.workers.paid.dollarsPerMillionRequests,
  )
  const cpu = day.workerCpuMs * month
  add('workers', 'CPU', cpu, 'CPU ms', (cpu / 1e6) * p.workers.paid.dollarsPerMillionCpuMs)
  const doRequests = billedDoRequests(day, prices) * month
  add(
    'durableObjects',
    'requests',
    doRequests,
    'billed requests',
    (doRequests / 1e6) * p.durableObjects.paid.dollarsPerMillionRequests,
  )
  const gbs = doGbSeconds(day, prices) * month
  add(
    'durableObjects',
    'duration',
    gbs,
    'GB-s',
    (gbs / 1e6) * p.durableObjects.paid.dollarsPerMillionGbSeconds,
  )
  const r2Gb = (day.r2StoredBytes * month) / gb
  add('r2', 'storage', r2Gb, 'GB-month', r2Gb * p.r2.paid.dollarsPerGbMonth)
  const classA = day.r2ClassA * month
  add('r2', 'class A', classA, 'operations', (classA / 1e6) * p.r2.paid.dollarsPerMillionClassA)
  const classB = day.r2ClassB * month
  add('r2', 'class B', classB, 'operations', (classB / 1e6) * p.r2.paid.dollarsPerMillionClassB)
  const transforms = day.imageTransformations * month
  add(
    'images',
    'transformations',
    transforms,
    'transformations',
    (transforms / 1000) * p.images.paid.dollarsPer1000Transformations,
  )
  const queueOps = day.queueMessages * p.queues.operationsPerMessage * month
  add(
    'queues',
    'operations',
    queueOps,
    'operations',
    (queueOps / 1e6) * p.queues.paid.dollarsPerMillionOperations,
  )
  const commands = day.upstashCommands * month
  add('upstash', 'commands', commands, 'commands', (commands / 1e5) * p.upstash.paid.dollarsPer100kCommands)
  const cuHours = (day.neonCpuSeconds * month) / 3600
  add('neon', 'compute (busy)', cuHours, 'CU-hours', cuHours * p.neon.paid.dollarsPerCuHour)
  const neonGb = (day.neonStoredBytes * month) / gb
  add('neon', 'storage', neonGb, 'GB-month', neonGb * p.neon.paid.dollarsPerGbMonth)
  const emails = day.emails * month
  add('email', 'emails', emails, 'emails', (emails / 1000) * p.email.paid.dollarsPer1000Emails)
  return items
}

/** Dollars per month for 1,000 daily active members, by provider and in total (usage, no allowances). */
export function costPer1000Dau(
  day: MemberDay,
  prices: Prices,
): { byProvider: Record<Provider, number>; total: number } {
  const byProvider = {
    workers: 0,
    durableObjects: 0,
    r2: 0,
    images: 0,
    queues: 0,
    upstash: 0,
    neon: 0,
    email: 0,
  } satisfies Record<Provider, number>
  for (const item of lineItems(day, prices)) byProvider[item.provider] += item.dollars
  return { byProvider, total: Object.values(byProvider).reduce((t, x) => t + x, 0) }
}

/**
 * The monthly bill at `dau` daily active members on the paid plans: allowances subtracted, the
 * Workers plan's $5 minimum (which carries the Workers, Durable Objects and Queues allowances),
 * and Neon's smallest compute running all month (members active around the clock never leave it
 * idle long enough to suspend) unless the busy time needs more.
 */
export function monthlyBill(
  day: MemberDay,
  dau: number,
  prices: Prices,
): Record<Provider, number> & { total: number } {
  const p = prices.providers
  const month = dau * daysPerMonth
  const over = (used: number, included: number) => Math.max(0, used - included)
  const workers = Math.max(
    p.workers.paid.monthlyMinimum,
    (over(day.workerRequests * month, p.workers.paid.includedRequestsPerMonth) / 1e6) *
      p.workers.paid.dollarsPerMillionRequests +
      (over(day.workerCpuMs * month, p.workers.paid.includedCpuMsPerMonth) / 1e6) *
        p.workers.paid.dollarsPerMillionCpuMs,
  )
  const durableObjects =
    (over(billedDoRequests(day, prices) * month, p.durableObjects.paid.includedRequestsPerMonth) / 1e6) *
      p.durableObjects.paid.dollarsPerMillionRequests +
    (over(doGbSeconds(day, prices) * month, p.durableObjects.paid.includedGbSecondsPerMonth) / 1e6) *
      p.durableObjects.paid.dollarsPerMillionGbSeconds
  const r2 =
    over((day.r2StoredBytes * month) / gb, p.r2.free.gbMonth) * p.r2.paid.dollarsPerGbMonth +
    (over(day.r2ClassA * month, p.r2.free.classAPerMonth) / 1e6) * p.r2.paid.dollarsPerMillionClassA +
    (over(day.r2ClassB * month, p.r2.free.classBPerMonth) / 1e6) * p.r2.paid.dollarsPerMillionClassB
  const images =
    (over(day.imageTransformations * month, p.images.free.transformationsPerMonth) / 1000) *
    p.images.paid.dollarsPer1000Transformations
  const queues =
    (over(
      day.queueMessages * p.queues.operationsPerMessage * month,
      p.queues.paid.includedOperationsPerMonth,
    ) /
      1e6) *
    p.queues.paid.dollarsPerMillionOperations
  const upstash = ((day.upstashCommands * month) / 1e5) * p.upstash.paid.dollarsPer100kCommands
  const cuHours = Math.max(p.neon.paid.minimumCu * hoursPerMonth, (day.neonCpuSeconds * month) / 3600)
  const neon =
    cuHours * p.neon.paid.dollarsPerCuHour +
    ((day.neonStoredBytes * month) / gb) * p.neon.paid.dollarsPerGbMonth
  const email = ((day.emails * month) / 1000) * p.email.paid.dollarsPer1000Emails
  const bill = { workers, durableObjects, r2, images, queues, upstash, neon, email }
  return { ...bill, total: Object.values(bill).reduce((t, x) => t + x, 0) }
}

export interface Ceiling {
  provider: Provider
  /** Daily active members the free allowance holds (Infinity when nothing is used). */
  dau: number
  /** The allowance that runs out first. */
  limitedBy: string
}

/**
 * How many daily active members fit in each provider's free allowance: the smallest of the
 * allowances it meters, each divided by what one member uses of it. Storage allowances are
 * checked against one month's growth. Neon's is the busy compute only: a database queried every
 * few minutes all month never suspends, and its smallest compute alone would need 180 CU-hours.
 */
export function freeTierCeilings(day: MemberDay, prices: Prices): Ceiling[] {
  const p = prices.providers
  const fit = (allowance: number, perMemberDay: number) =>
    perMemberDay > 0 ? Math.floor(allowance / perMemberDay) : Infinity
  const lowest = (provider: Provider, limits: [string, number][]): Ceiling => {
    const [limitedBy, dau] = limits.reduce((a, b) => (b[1] < a[1] ? b : a))
    return { provider, dau, limitedBy }
  }
  return [
    lowest('workers', [['100,000 requests/day', fit(p.workers.free.requestsPerDay, day.workerRequests)]]),
    lowest('durableObjects', [
      ['100,000 requests/day', fit(p.durableObjects.free.requestsPerDay, billedDoRequests(day, prices))],
      ['13,000 GB-s/day', fit(p.durableObjects.free.gbSecondsPerDay, doGbSeconds(day, prices))],
    ]),
    lowest('r2', [
      ['10 GB-month', fit(p.r2.free.gbMonth * gb, day.r2StoredBytes * daysPerMonth)],
      ['1M class A/month', fit(p.r2.free.classAPerMonth, day.r2ClassA * daysPerMonth)],
      ['10M class B/month', fit(p.r2.free.classBPerMonth, day.r2ClassB * daysPerMonth)],
    ]),
    lowest('images', [
      [
        '5,000 transformations/month',
        fit(p.images.free.transformationsPerMonth, day.imageTransformations * daysPerMonth),
      ],
    ]),
    lowest('queues', [
      [
        '10,000 operations/day',
        fit(p.queues.free.operationsPerDay, day.queueMessages * p.queues.operationsPerMessage),
      ],
    ]),
    lowest('upstash', [
      ['500K commands/month', fit(p.upstash.free.commandsPerMonth, day.upstashCommands * daysPerMonth)],
    ]),
    lowest('neon', [
      [
        '100 CU-hours/month (busy time)',
        fit(p.neon.free.cuHoursPerMonth * 3600, day.neonCpuSeconds * daysPerMonth),
      ],
      ['0.5 GB storage', fit(p.neon.free.storageGb * gb, day.neonStoredBytes * daysPerMonth)],
    ]),
    lowest('email', [['3,000 emails/month', fit(p.email.free.emailsPerMonth, day.emails * daysPerMonth)]]),
  ]
}
