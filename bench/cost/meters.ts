import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type pg from 'pg'
import { cpuMs, descendants } from '../profile'

/**
 * What `npm run bench:cost` reads from outside the Worker, before and after each phase:
 * workerd's CPU, the database's busy time and size, R2's stored objects and the caught mail.
 */

/** CPU milliseconds (user + system) of every workerd process below this one. */
export function workerdCpuMs(): number {
  return descendants()
    .filter((p) => p.comm === 'workerd')
    .reduce((total, p) => total + cpuMs(p.pid), 0)
}

/**
 * The database's busy time (`pg_stat_database.active_time`: milliseconds its sessions spent
 * running statements) and its size. Sessions report their share at transaction end, at most
 * once a second, so a reading waits that long first.
 */
export async function databaseMeter(
  pool: pg.Pool,
  database: string,
): Promise<{ activeMs: number; bytes: number }> {
  await new Promise((resolve) => setTimeout(resolve, 1_100))
  const {
    rows: [row],
  } = await pool.query<{ active: number; bytes: string }>(
    `select coalesce(active_time, 0)::float8 as active, pg_database_size($1)::text as bytes
     from pg_stat_database where datname = $1`,
    [database],
  )
  return { activeMs: row?.active ?? 0, bytes: Number(row?.bytes ?? 0) }
}

/**
 * Objects and bytes in wrangler dev's local R2 store (`<persist>/v3/r2/<bucket>/blobs`): each put
 * writes one blob file, so new files count class A operations and their sizes the bytes stored.
 */
export function r2Store(persistDir: string): { objects: number; bytes: number } {
  const root = join(persistDir, 'v3', 'r2')
  let objects = 0
  let bytes = 0
  if (!existsSync(root)) return { objects, bytes }
  for (const bucket of readdirSync(root)) {
    const blobs = join(root, bucket, 'blobs')
    if (!existsSync(blobs)) continue
    for (const file of readdirSync(blobs)) {
      objects++
      bytes += statSync(join(blobs, file)).size
    }
  }
  return { objects, bytes }
}

/** Messages the SMTP sink caught so far. */
export async function mailCount(apiUrl: string): Promise<number> {
  const res = await fetch(`${apiUrl}/messages`)
  return ((await res.json()) as unknown[]).length
}

/** The sign-in code of the newest message the sink caught for `to`, waiting for it. */
export async function signInCode(apiUrl: string, to: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const res = await fetch(`${apiUrl}/messages?to=${encodeURIComponent(to)}`)
    const messages = (await res.json()) as { text: string | null }[]
    const code = /\b(\d{6})\b/.exec(messages.at(-1)?.text ?? '')?.[1]
    if (code) return code
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`no sign-in code mailed to ${to} within ${timeoutMs / 1000} s`)
}

/** Readable JSON of a file, for the price sheet. */
export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}
