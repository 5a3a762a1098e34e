import { unstable_readConfig } from 'wrangler'
import { describe, expect, it } from 'vitest'

/**
 * wrangler.toml does not inherit bindings or vars into named environments, so each one repeats
 * them; this keeps the copies from drifting apart. Read through wrangler itself, exactly as
 * `wrangler deploy --env …` would.
 */
const environments = [
  { env: undefined, name: 'local', suffix: 'local' },
  { env: 'staging', name: 'staging', suffix: 'staging' },
  { env: 'production', name: 'production', suffix: 'production' },
] as const

/** The parts of wrangler's resolved config these tests read. */
interface ResolvedConfig {
  vars: Record<string, unknown>
  r2_buckets: { binding: string; bucket_name?: string }[]
  images?: { binding: string }
  durable_objects: { bindings: { name: string; class_name: string }[] }
  migrations: { tag: string; new_sqlite_classes?: string[] }[]
  queues: {
    producers?: { binding: string; queue: string }[]
    consumers?: { queue: string; dead_letter_queue?: string; max_retries?: number; max_batch_size?: number }[]
  }
  observability?: { enabled?: boolean }
  compatibility_date?: string
  compatibility_flags: string[]
}

describe.each(environments)('wrangler.toml [$name]', ({ env, name, suffix }) => {
  const config = unstable_readConfig({ config: 'wrangler.toml', env }) as unknown as ResolvedConfig

  it('sets ENVIRONMENT to the environment it describes', () => {
    expect(config.vars.ENVIRONMENT).toBe(name)
  })

  it('binds both R2 buckets with per-environment names', () => {
    expect(config.r2_buckets.map((b) => [b.binding, b.bucket_name])).toEqual([
      ['IMAGES_BUCKET', `rapport-images-${suffix}`],
      ['AUDIO_BUCKET', `rapport-audio-${suffix}`],
    ])
    expect(config.images?.binding).toBe('IMAGES')
  })

  it('binds both Durable Object classes, created by a SQLite migration', () => {
    expect(config.durable_objects.bindings.map((b) => [b.name, b.class_name])).toEqual([
      ['CONVERSATION', 'Conversation'],
      ['USER_HUB', 'UserHub'],
    ])
    expect(config.migrations.flatMap((m) => m.new_sqlite_classes ?? [])).toEqual(['Conversation', 'UserHub'])
  })

  it('produces to the jobs and push queues and consumes them and the jobs dead-letter queue', () => {
    const jobs = `rapport-jobs-${suffix}`
    const dlq = `rapport-jobs-dlq-${suffix}`
    const push = `rapport-push-${suffix}`
    expect(config.queues.producers).toEqual([
      { binding: 'JOBS', queue: jobs },
      { binding: 'PUSH', queue: push },
    ])
    const consumers = config.queues.consumers ?? []
    expect(consumers.map((c) => c.queue)).toEqual([jobs, dlq, push])
    // A batch of 100 pushes fills one Expo request.
    expect(consumers[2]).toMatchObject({ max_batch_size: 100 })
    expect(consumers[0]).toMatchObject({ dead_letter_queue: dlq, max_retries: 5 })
  })

  it('keeps observability on and a compatibility date the pinned workerd supports', () => {
    expect(config.observability?.enabled).toBe(true)
    expect(config.compatibility_date! <= '2026-04-26').toBe(true)
    expect(config.compatibility_flags).toContain('nodejs_compat')
  })
})
