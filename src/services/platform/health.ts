import { sql } from 'drizzle-orm'
import type { Services } from '..'

export type DependencyName = 'postgres' | 'redis'

export interface DependencyCheck {
  ok: boolean
  latencyMs: number
  error?: string
}

const timeoutMs = 2000

async function timed(check: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = Date.now()
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
      }),
    ])
    return { ok: true, latencyMs: Date.now() - started }
  } catch (err) {
    // drizzle wraps driver errors as "Failed query: …"; the cause says what actually went wrong.
    const cause = (err as { cause?: { message?: unknown } } | undefined)?.cause
    const message = typeof cause?.message === 'string' ? cause.message : (err as Error | undefined)?.message
    return { ok: false, latencyMs: Date.now() - started, error: message ?? String(err) }
  } finally {
    if (timer !== undefined) clearTimeout(timer)
  }
}

/**
 * Probe every dependency a request may need, concurrently and each bounded by a timeout, so a
 * readiness probe answers within ~2 s even when one dependency hangs.
 */
export async function checkDependencies(s: Services): Promise<Record<DependencyName, DependencyCheck>> {
  const [postgres, redis] = await Promise.all([
    timed(() => s.database.db.execute(sql`select 1`)),
    timed(async () => {
      const pong = await s.redis.ping()
      if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`)
    }),
  ])
  return { postgres, redis }
}
