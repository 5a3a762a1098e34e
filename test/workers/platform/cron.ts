import { createScheduledController, env } from 'cloudflare:test'
import { inArray } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import wranglerToml from '../../../wrangler.toml?raw'
import { handleScheduled } from '../../../cron'
import { schedule } from '../../../cron/registry'
import { jobs } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import { services } from '../helpers'

const cronLists = [...wranglerToml.matchAll(/^crons\s*=\s*\[(.*)\]/gm)].map((m) =>
  [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!),
)

describe('cron dispatch', () => {
  it('registers exactly the expressions wrangler.toml triggers, in every environment', () => {
    expect(cronLists.length).toBeGreaterThanOrEqual(3)
    for (const list of cronLists) expect([...list].sort()).toEqual(Object.keys(schedule).sort())
  })

  it('runs the garbage-collection job through the scheduled entry and removes only old finished jobs', async () => {
    const s = services()
    const now = Date.now()
    const daysAgo = (d: number) => new Date(now - d * 86_400_000)
    const rows = await s.database.db
      .insert(jobs)
      .values([
        { type: 'gc.test', status: 'succeeded', finishedAt: daysAgo(40) },
        { type: 'gc.test', status: 'dead', finishedAt: daysAgo(31) },
        { type: 'gc.test', status: 'succeeded', finishedAt: daysAgo(2) },
        { type: 'gc.test', status: 'queued' },
      ])
      .returning({ id: jobs.id })
    const ids = rows.map((r) => r.id)

    const controller = createScheduledController({ cron: '43 3 * * *', scheduledTime: now })
    await worker.scheduled(controller, env as Env)

    const left = await s.database.db.select({ id: jobs.id }).from(jobs).where(inArray(jobs.id, ids))
    expect(left.map((r) => r.id).sort()).toEqual([ids[2], ids[3]].sort())

    // Idempotent: running again changes nothing further.
    const again = await handleScheduled(
      createScheduledController({ cron: '43 3 * * *', scheduledTime: now }),
      env as Env,
    )
    expect(again.jobs.map((j) => [j.name, j.ok])).toEqual([
      ['purge-finished-jobs', true],
      ['collect-garbage', true],
      ['purge-stale-onboardings', true],
    ])
    expect(await s.database.db.select({ id: jobs.id }).from(jobs).where(inArray(jobs.id, ids))).toHaveLength(
      2,
    )
  })

  it('logs and ignores an expression it does not know', async () => {
    const report = await handleScheduled(createScheduledController({ cron: '5 4 * * 0' }), env as Env)
    expect(report).toEqual({ cron: '5 4 * * 0', jobs: [] })
  })

  it('isolates a failing job from the others in the same run', async () => {
    const expression = '* * * * *'
    const saved = schedule[expression]!
    schedule[expression] = [
      { name: 'boom', run: async () => Promise.reject(new Error('boom')) },
      { name: 'fine', run: async () => ({ processed: 3 }) },
    ]
    try {
      const report = await handleScheduled(createScheduledController({ cron: expression }), env as Env)
      expect(report.jobs.map((j) => [j.name, j.ok])).toEqual([
        ['boom', false],
        ['fine', true],
      ])
    } finally {
      schedule[expression] = saved
    }
  })
})
