import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { jobs } from '../../../src/db/schema'
import type { Env } from '../../../src/env'
import worker from '../../../src/index'
import { jobRegistry } from '../../../src/job-registry'
import { PermanentJobError, enqueueJob, retryDelaySeconds } from '../../../src/services/platform/jobs'
import { services } from '../helpers'

const s = services()
const jobRow = async (id: string) => (await s.database.db.select().from(jobs).where(eq(jobs.id, id)))[0]!

async function deliver(queue: string, body: unknown, attempts = 1) {
  const batch = createMessageBatch(queue, [
    { id: crypto.randomUUID(), timestamp: new Date(), attempts, body },
  ])
  const ctx = createExecutionContext()
  await worker.queue(batch, env as Env)
  return getQueueResult(batch, ctx)
}

async function insertJob(type: string, payload: unknown = {}) {
  const [row] = await s.database.db.insert(jobs).values({ type, payload }).returning({ id: jobs.id })
  return row!.id
}

afterEach(() => {
  for (const type of [...jobRegistry.keys()]) if (type.startsWith('test.')) jobRegistry.delete(type)
})

describe('queue consumer', () => {
  it('dispatches on type, stores the result and acks', async () => {
    jobRegistry.set('test.echo', { run: async (_s, job) => ({ echoed: job.payload, attempt: job.attempt }) })
    const id = await insertJob('test.echo', { hello: 'world' })
    const result = await deliver('rapport-jobs-local', { jobId: id, type: 'test.echo' })
    expect(result.explicitAcks).toHaveLength(1)
    expect(result.retryMessages).toHaveLength(0)
    const row = await jobRow(id)
    expect(row).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      result: { echoed: { hello: 'world' }, attempt: 1 },
    })
    expect(row.finishedAt).toBeInstanceOf(Date)
  })

  it('retries a failing attempt with backoff, then succeeds', async () => {
    const handler = vi
      .fn()
      .mockRejectedValueOnce(new Error('flaky upstream'))
      .mockResolvedValueOnce({ ok: true })
    jobRegistry.set('test.flaky', { run: handler })
    const id = await insertJob('test.flaky')

    const first = await deliver('rapport-jobs-local', { jobId: id, type: 'test.flaky' }, 1)
    expect(first.retryMessages).toHaveLength(1)
    expect(first.explicitAcks).toHaveLength(0)
    expect(await jobRow(id)).toMatchObject({ status: 'queued', attempts: 1, error: 'flaky upstream' })

    const second = await deliver('rapport-jobs-local', { jobId: id, type: 'test.flaky' }, 2)
    expect(second.explicitAcks).toHaveLength(1)
    expect(await jobRow(id)).toMatchObject({ status: 'succeeded', attempts: 2, error: null })
  })

  it('does not run a job twice when the queue redelivers it', async () => {
    const handler = vi.fn().mockResolvedValue('done')
    jobRegistry.set('test.once', { run: handler })
    const id = await insertJob('test.once')
    await deliver('rapport-jobs-local', { jobId: id, type: 'test.once' })
    const again = await deliver('rapport-jobs-local', { jobId: id, type: 'test.once' })
    expect(again.explicitAcks).toHaveLength(1)
    expect(handler).toHaveBeenCalledTimes(1)
  })

  it('fails permanently, without retry, on a PermanentJobError or an unknown type', async () => {
    jobRegistry.set('test.bad', {
      run: async () => {
        throw new PermanentJobError('payload is unusable')
      },
    })
    const bad = await insertJob('test.bad')
    const res = await deliver('rapport-jobs-local', { jobId: bad, type: 'test.bad' })
    expect(res.retryMessages).toHaveLength(0)
    expect(await jobRow(bad)).toMatchObject({ status: 'failed', error: 'payload is unusable' })

    const unknown = await insertJob('test.nobody-handles-this')
    await deliver('rapport-jobs-local', { jobId: unknown, type: 'test.nobody-handles-this' })
    expect((await jobRow(unknown)).status).toBe('failed')
  })

  it('acks malformed messages instead of retrying them forever', async () => {
    const res = await deliver('rapport-jobs-local', { nonsense: true })
    expect(res.explicitAcks).toHaveLength(1)
    expect(res.retryMessages).toHaveLength(0)
  })

  it('marks a job dead when it reaches the dead-letter queue', async () => {
    const id = await insertJob('test.doomed')
    await deliver('rapport-jobs-dlq-local', { jobId: id, type: 'test.doomed' }, 6)
    expect(await jobRow(id)).toMatchObject({ status: 'dead' })
  })

  it('backs off exponentially up to an hour', () => {
    expect([1, 2, 3, 4].map(retryDelaySeconds)).toEqual([5, 10, 20, 40])
    expect(retryDelaySeconds(30)).toBe(3600)
  })
})

describe('enqueueJob through the real local queue', () => {
  it('records the job, and the consumer picks it up and completes it', async () => {
    jobRegistry.set('test.e2e', { run: async () => 'processed by the queue' })
    const { id } = await enqueueJob(s, { type: 'test.e2e', payload: { n: 1 } })
    expect((await jobRow(id)).status).toMatch(/queued|running|succeeded/)
    await vi.waitFor(
      async () => {
        expect(await jobRow(id)).toMatchObject({ status: 'succeeded', result: 'processed by the queue' })
      },
      { timeout: 10_000, interval: 100 },
    )
  })
})
