import { unstable_startWorker } from 'wrangler'

/**
 * `wrangler dev` through wrangler's programmatic API, for benchmarks that must not pay for the
 * DevTools inspector: the CLI always attaches one, with network reporting on, and forwards every
 * event (four per outbound fetch) to wrangler's Node process — CPU production never spends.
 * Usage: tsx scripts/wrangler-dev-api.ts <port> <persist-dir> <vars-json>
 */
const [port, persist, varsJson] = process.argv.slice(2)
const vars = JSON.parse(varsJson ?? '{}') as Record<string, string>
const worker = await unstable_startWorker({
  config: 'wrangler.toml',
  bindings: Object.fromEntries(
    Object.entries(vars).map(([name, value]) => [name, { type: 'plain_text' as const, value }]),
  ),
  dev: {
    inspector: false,
    server: { hostname: '127.0.0.1', port: Number(port) },
    persist: persist!,
    logLevel: 'warn',
    // GET /__scheduled?cron=… runs the scheduled handler (bench:cost fires each cron once).
    testScheduled: true,
  },
})
await worker.ready
const stop = async () => {
  await worker.dispose()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
