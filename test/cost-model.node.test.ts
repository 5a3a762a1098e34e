import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  type MemberDay,
  type Prices,
  costPer1000Dau,
  freeTierCeilings,
  lineItems,
  monthlyBill,
} from '../bench/cost/model'

const prices = JSON.parse(
  readFileSync(new URL('../docs/prices-2026-12.json', import.meta.url), 'utf8'),
) as Prices

/** A member-day with round numbers, so every figure below can be checked by hand. */
const day: MemberDay = {
  workerRequests: 100,
  workerCpuMs: 1000,
  doRequests: 50,
  doWebSocketMessagesIn: 200,
  doActiveSeconds: 4,
  upstashCommands: 500,
  neonStatements: 300,
  neonRows: 1000,
  neonCpuSeconds: 0.6,
  neonStoredBytes: 100_000,
  r2ClassA: 6,
  r2ClassB: 20,
  r2StoredBytes: 1_000_000,
  imageTransformations: 4,
  emails: 1,
  queueMessages: 2,
}

describe('the price sheet', () => {
  it('names a source and a reading date for every provider', () => {
    for (const [name, provider] of Object.entries(prices.providers)) {
      expect(provider.source, name).toMatch(/^https:\/\//)
      expect((provider as { read?: string }).read, name).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    }
  })
})

describe('dollars per 1,000 daily active members a month', () => {
  it('multiplies 30 days of 1,000 member-days by the list prices', () => {
    const items = Object.fromEntries(
      lineItems(day, prices).map((i) => [`${i.provider} ${i.item}`, i.dollars]),
    )
    // 3 M requests × $0.30/M; 30 M CPU ms × $0.02/M.
    expect(items['workers requests']).toBeCloseTo(0.9, 10)
    expect(items['workers CPU']).toBeCloseTo(0.6, 10)
    // (50 calls + 200 socket messages / 20) × 30,000 = 1.8 M × $0.15/M.
    expect(items['durableObjects requests']).toBeCloseTo(0.27, 10)
    // 4 s × 0.125 GB × 30,000 = 15,000 GB-s × $12.50/M.
    expect(items['durableObjects duration']).toBeCloseTo(0.1875, 10)
    // 30 GB × $0.015; 180,000 class A × $4.50/M; 600,000 class B × $0.36/M.
    expect(items['r2 storage']).toBeCloseTo(0.45, 10)
    expect(items['r2 class A']).toBeCloseTo(0.81, 10)
    expect(items['r2 class B']).toBeCloseTo(0.216, 10)
    // 120,000 transformations × $0.50/1,000.
    expect(items['images transformations']).toBeCloseTo(60, 10)
    // 60,000 messages × 3 operations × $0.40/M.
    expect(items['queues operations']).toBeCloseTo(0.072, 10)
    // 15 M commands × $0.20/100,000.
    expect(items['upstash commands']).toBeCloseTo(30, 10)
    // 18,000 CU-s = 5 CU-hours × $0.106; 3 GB × $0.35.
    expect(items['neon compute (busy)']).toBeCloseTo(0.53, 10)
    expect(items['neon storage']).toBeCloseTo(1.05, 10)
    // 30,000 emails × $0.10/1,000.
    expect(items['email emails']).toBeCloseTo(3, 10)

    const cost = costPer1000Dau(day, prices)
    expect(cost.byProvider.upstash).toBeCloseTo(30, 10)
    expect(cost.byProvider.r2).toBeCloseTo(1.476, 10)
    expect(cost.total).toBeCloseTo(98.0855, 10)
  })

  it('bills 1,000 members net of the allowances, with the plan minimums', () => {
    const bill = monthlyBill(day, 1000, prices)
    // Within the Workers plan's 10 M requests and 30 M CPU ms: its $5 minimum.
    expect(bill.workers).toBe(5)
    // 0.8 M requests over the included million; duration within 400,000 GB-s.
    expect(bill.durableObjects).toBeCloseTo(0.12, 10)
    // 20 GB over the free 10; operations within the free ones.
    expect(bill.r2).toBeCloseTo(0.3, 10)
    expect(bill.images).toBeCloseTo(57.5, 10)
    expect(bill.queues).toBe(0)
    expect(bill.upstash).toBeCloseTo(30, 10)
    // The smallest compute all month (0.25 CU × 720 h) outweighs 5 busy CU-hours; plus 3 GB.
    expect(bill.neon).toBeCloseTo(180 * 0.106 + 1.05, 10)
    expect(bill.email).toBeCloseTo(3, 10)
    expect(bill.total).toBeCloseTo(116.05, 10)
  })
})

describe('free-tier ceilings', () => {
  it('divides each allowance by one member’s use and keeps the one that runs out first', () => {
    const ceilings = Object.fromEntries(freeTierCeilings(day, prices).map((c) => [c.provider, c]))
    expect(ceilings.workers).toEqual({ provider: 'workers', dau: 1000, limitedBy: '100,000 requests/day' })
    expect(ceilings.durableObjects).toMatchObject({ dau: 1666, limitedBy: '100,000 requests/day' })
    expect(ceilings.r2).toMatchObject({ dau: 333, limitedBy: '10 GB-month' })
    expect(ceilings.images).toMatchObject({ dau: 41 })
    expect(ceilings.queues).toMatchObject({ dau: 1666 })
    expect(ceilings.upstash).toMatchObject({ dau: 33 })
    expect(ceilings.neon).toMatchObject({ dau: 166, limitedBy: '0.5 GB storage' })
    expect(ceilings.email).toMatchObject({ dau: 100 })
  })

  it('is unlimited for a provider the day does not use', () => {
    const ceilings = freeTierCeilings({ ...day, emails: 0, queueMessages: 0 }, prices)
    expect(ceilings.find((c) => c.provider === 'email')!.dau).toBe(Infinity)
    expect(ceilings.find((c) => c.provider === 'queues')!.dau).toBe(Infinity)
  })
})
