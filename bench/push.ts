import { mkdtempSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { startPushFake } from '../scripts/local-stack/push-fake'
import { type Member, createMembers, startChatStack } from './chat'

/**
 * `npm run bench:push`: a burst of messages to members with push tokens, over `wrangler dev` with
 * real PostgreSQL and Redis and the local Expo stand-in.
 *
 * Two sets in one run, each `--messages` (1,000) intros from distinct senders to distinct
 * recipients whose intros setting is "immediately", sent over REST with `--concurrency` (20)
 * requests in flight: to recipients without a push token (the baseline) and to recipients with
 * one, in alternating blocks of 100. Reported: p50/p95 of the send request (the chat path) per phase and their
 * difference, and how many Expo requests carried the second phase's pushes. Targets: every
 * push delivered, ≤ 10 Expo requests for 1,000 pushes, p50 rising ≤ 2 ms. A short warm-up
 * (100 messages) comes first so neither phase pays for the Worker's start.
 *
 *   tsx bench/push.ts [--messages 1000] [--concurrency 20]
 *
 * Redis: BENCH_REDIS_URL (default redis://127.0.0.1:6379/7; flushed). PostgreSQL: a fresh
 * database on TEST_PG_URL's server, dropped afterwards.
 */

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!

/** Sends that did not succeed (status and the start of the body); the bench fails when any did. */
const failures: string[] = []

async function burst(
  url: string,
  pairs: [Member, Member][],
  concurrency: number,
  tag: string,
): Promise<number[]> {
  const latencies: number[] = []
  const queue = [...pairs]
  const worker = async () => {
    for (let pair = queue.shift(); pair; pair = queue.shift()) {
      const [from, to] = pair
      const started = performance.now()
      const res = await fetch(`${url}/api/v1/conversations/${to.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${from.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          clientId: crypto.randomUUID(),
          body: `Hello from the ${tag} burst ${crypto.randomUUID()}`,
        }),
      })
      const text = await res.text()
      if (res.status !== 201 && res.status !== 200) {
        failures.push(`${res.status} ${text.slice(0, 200)}`)
        continue
      }
      latencies.push(performance.now() - started)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return latencies.sort((a, b) => a - b)
}

async function bench() {
  const messages = option('messages', 1000)
  const concurrency = option('concurrency', 20)
  const warmup = 100
  const dataDir = mkdtempSync(join(tmpdir(), 'rapport-bench-push-'))
  const fake = await startPushFake()
  const stack = await startChatStack({
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/7',
    dataDir,
    vars: { EXPO_PUSH_URL: fake.expoUrl },
  })
  try {
    const members = await createMembers(stack, 2 * (warmup + 2 * messages))
    const pairs: [Member, Member][] = []
    for (let i = 0; i < members.length; i += 2) pairs.push([members[i]!, members[i + 1]!])
    const recipients = pairs.map(([, to]) => to.id)
    await stack.pool.query(
      `update profiles set intros_notification = 'immediately', chats_notification = 'immediately'
       where user_id = any($1::uuid[])`,
      [recipients],
    )
    const warm = pairs.slice(0, warmup)
    const plain = pairs.slice(warmup, warmup + messages)
    const pushed = pairs.slice(warmup + messages)
    const tokens = pushed.map((_, i) => `ExponentPushToken[bench${String(i).padStart(10, '0')}xyz]`)
    await stack.pool.query(
      `insert into push_targets (session_id, user_id, kind, address)
       select s.id, s.user_id, 'expo', t.token
       from unnest($1::uuid[], $2::text[]) as t(user_id, token)
       join sessions s on s.user_id = t.user_id`,
      [pushed.map(([, to]) => to.id), tokens],
    )

    await burst(stack.url, warm, concurrency, 'warm-up')
    // Blocks of 100 alternate between the two sets, so both see the same machine (this one is
    // shared and its load drifts) and the push consumer's work overlaps both alike.
    const without: number[] = []
    const withTokens: number[] = []
    for (let i = 0; i < messages; i += 100) {
      without.push(...(await burst(stack.url, plain.slice(i, i + 100), concurrency, 'baseline')))
      withTokens.push(...(await burst(stack.url, pushed.slice(i, i + 100), concurrency, 'push')))
    }
    without.sort((a, b) => a - b)
    withTokens.sort((a, b) => a - b)

    const mine = new Set(tokens)
    const deadline = Date.now() + 60_000
    let requests = fake.expoRequests.filter((r) => r.to.some((t) => mine.has(t)))
    const delivered = () =>
      new Set(requests.flatMap((r) => (r.status === 200 ? r.to : [])).filter((t) => mine.has(t)))
    while (delivered().size < tokens.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200))
      requests = fake.expoRequests.filter((r) => r.to.some((t) => mine.has(t)))
    }

    const p50a = percentile(without, 0.5)
    const p50b = percentile(withTokens, 0.5)
    const rise = p50b - p50a
    const lines = [
      `messages per phase: ${messages}, ${concurrency} in flight; load average ${loadavg()[0]!.toFixed(2)} on ${cpus().length} CPUs`,
      `send (chat path), recipients without tokens: p50 ${p50a.toFixed(2)} ms, p95 ${percentile(without, 0.95).toFixed(2)} ms`,
      `send (chat path), recipients with tokens:    p50 ${p50b.toFixed(2)} ms, p95 ${percentile(withTokens, 0.95).toFixed(2)} ms`,
      `p50 rise: ${rise.toFixed(2)} ms (ratio ${(p50b / p50a).toFixed(3)})`,
      `pushes delivered: ${delivered().size}/${tokens.length} in ${requests.length} Expo requests ` +
        `(sizes ${requests.map((r) => r.messages).join(', ')})`,
    ]
    if (failures.length) lines.push(`failed sends: ${failures.length} (first: ${failures[0]})`)
    for (const line of lines) console.log(line)
    const ok =
      failures.length === 0 &&
      delivered().size === tokens.length &&
      requests.length <= Math.ceil(messages / 100) &&
      rise <= 2
    if (!ok) {
      console.error('target missed: every push delivered, ≤ 1 Expo request per 100 pushes, p50 rise ≤ 2 ms')
      process.exitCode = 1
    }
  } finally {
    await stack.stop()
    await fake.close()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

await bench()
