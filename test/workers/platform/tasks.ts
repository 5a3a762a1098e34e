import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { jobs } from '../../../src/db/schema'
import worker from '../../../src/index'
import type { Role } from '../../../src/services/accounts/tokens'
import { jobRegistry } from '../../../src/job-registry'
import { runJob } from '../../../src/services/platform/jobs'
import { startSession } from '../../../src/services/accounts/sessions'
import { echoJobType } from '../../../src/services/platform/tasks'
import { api, envWith, origin, problem, services } from '../helpers'
import { bearer, uniqueIp } from '../auth-helpers'
import { insertUsers } from '../fixtures'

const s = services()

/** A user with a live session, created directly (unique email and username per call). */
async function account(role: Role = 'member') {
  const tag = crypto.randomUUID().replaceAll('-', '').slice(0, 12)
  const [user] = await insertUsers([
    {
      email: `task-${tag}@example.org`,
      emailDisplay: `task-${tag}@example.org`,
      username: `task_${tag}`,
      role,
      status: 'active',
    },
  ])
  const session = await startSession(s, user!, { client: 'mobile', ip: '198.51.100.7' })
  return { id: user!.id, token: session.accessToken }
}

const createTask = (message: string | undefined, token?: string) =>
  api(`/api/v1/tasks/task${message === undefined ? '' : `?message=${encodeURIComponent(message)}`}`, {
    method: 'POST',
    headers: { 'CF-Connecting-IP': uniqueIp(), ...(token ? bearer(token) : {}) },
  })

const readTask = (id: string, token?: string) =>
  api(`/api/v1/tasks/task/${id}`, { headers: token ? bearer(token) : {} })

interface Task {
  id: string
  type: string
  status: string
  attempts: number
  result: unknown
  error: string | null
  createdAt: string
  updatedAt: string
  startedAt: string | null
  finishedAt: string | null
}

let owner: Awaited<ReturnType<typeof account>>
let stranger: Awaited<ReturnType<typeof account>>
let admin: Awaited<ReturnType<typeof account>>

beforeAll(async () => {
  ;[owner, stranger, admin] = await Promise.all([account(), account(), account('admin')])
})

describe('POST /api/v1/tasks/task', () => {
  it('queues a sample task that the real local queue runs to completion for its owner', async () => {
    const created = await createTask('hello queue', owner.token)
    expect(created.status).toBe(201)
    const { id } = (await created.json()) as { id: string }
    expect(id).toMatch(/^[0-9a-f-]{36}$/)
    expect(created.headers.get('location')).toBe(`/api/v1/tasks/task/${id}`)
    expect(created.headers.get('ratelimit-limit')).toMatch(/^\d+$/)

    const [row] = await s.database.db.select().from(jobs).where(eq(jobs.id, id))
    expect(row).toMatchObject({ ownerId: owner.id, type: 'sample.echo', payload: { message: 'hello queue' } })

    await vi.waitFor(
      async () => {
        const res = await readTask(id, owner.token)
        expect(res.status).toBe(200)
        const task = (await res.json()) as Task
        expect(task).toMatchObject({
          id,
          type: 'sample.echo',
          status: 'succeeded',
          attempts: 1,
          error: null,
          result: { message: 'hello queue', summary: 'Task hello queue is complete!' },
        })
        expect(task.finishedAt).not.toBeNull()
        expect(res.headers.get('cache-control')).toBe('private, no-store')
      },
      { timeout: 10_000, interval: 100 },
    )
  })

  it('requires an access token (the boilerplate allowed anonymous tasks nobody could own)', async () => {
    const res = await createTask('anonymous')
    expect(res.status).toBe(401)
    expect((await problem(res)).code).toBe('unauthorized')
  })

  it('answers 422 for a missing, empty or too long message', async () => {
    for (const message of [undefined, '', '   ', 'x'.repeat(501)]) {
      const res = await createTask(message, owner.token)
      expect(res.status).toBe(422)
      const body = await problem(res)
      expect(body.code).toBe('validation_failed')
      expect(body.errors?.[0]?.path).toBe('query.message')
    }
    expect((await createTask('x'.repeat(500), owner.token)).status).toBe(201)
  })

  it('is rate limited per caller with 429 and Retry-After', async () => {
    const limited = await account()
    const env = envWith({ DEFAULT_RATE_LIMIT_LIMIT: '2' })
    const post = async () => {
      const ctx = createExecutionContext()
      const res = await worker.fetch(
        new Request(`${origin}/api/v1/tasks/task?message=again`, {
          method: 'POST',
          headers: { ...bearer(limited.token), 'CF-Connecting-IP': uniqueIp() },
        }),
        env,
        ctx,
      )
      await waitOnExecutionContext(ctx)
      return res
    }
    expect((await post()).status).toBe(201)
    expect((await post()).status).toBe(201)
    const refused = await post()
    expect(refused.status).toBe(429)
    expect((await problem(refused)).code).toBe('rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
  })
})

describe('GET /api/v1/tasks/task/{id}', () => {
  let id: string
  beforeAll(async () => {
    const res = await createTask('private matter', owner.token)
    id = ((await res.json()) as { id: string }).id
  })

  it('lets the owner and admins read it', async () => {
    const mine = await readTask(id, owner.token)
    expect(mine.status).toBe(200)
    expect(((await mine.json()) as Task).id).toBe(id)
    const asAdmin = await readTask(id, admin.token)
    expect(asAdmin.status).toBe(200)
    expect(((await asAdmin.json()) as Task).type).toBe('sample.echo')
  })

  it('answers 404 to another member, exactly as for an unknown id', async () => {
    const theirs = await readTask(id, stranger.token)
    expect(theirs.status).toBe(404)
    expect((await problem(theirs)).code).toBe('not_found')
    const unknown = await readTask(crypto.randomUUID(), stranger.token)
    expect(unknown.status).toBe(404)
    expect((await problem(unknown)).detail).toBe((await problem(await readTask(id, stranger.token))).detail)
  })

  it('answers 401 without a token and 422 for an id that is not a UUID', async () => {
    expect((await readTask(id)).status).toBe(401)
    const bad = await readTask('not-a-uuid', owner.token)
    expect(bad.status).toBe(422)
    expect((await problem(bad)).errors?.[0]?.path).toBe('param.id')
  })
})

describe('the sample.echo handler', () => {
  it('fails permanently, without retries, on a payload without a message', async () => {
    const [row] = await s.database.db
      .insert(jobs)
      .values({ type: echoJobType, ownerId: owner.id, payload: { nothing: true } })
      .returning({ id: jobs.id })
    expect(await runJob(s, jobRegistry, { jobId: row!.id, type: echoJobType }, 1)).toBe('failed')
    const res = await readTask(row!.id, owner.token)
    expect(await res.json()).toMatchObject({ status: 'failed', attempts: 1, result: null })
  })
})
