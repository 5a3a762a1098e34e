import { fileURLToPath } from 'node:url'
import { unstable_startWorker } from 'wrangler'

/**
 * The echo baseline under `wrangler dev`'s programmatic API with the DevTools inspector off,
 * exactly as the chat bench runs Rapport (scripts/wrangler-dev-api.ts), so both pay the same
 * local-runtime overheads. Usage: tsx bench/echo/dev.ts <port> <persist-dir>
 */
const [port, persist] = process.argv.slice(2)
const worker = await unstable_startWorker({
  config: fileURLToPath(new URL('wrangler.toml', import.meta.url)),
  dev: {
    inspector: false,
    server: { hostname: '127.0.0.1', port: Number(port) },
    persist: persist!,
    logLevel: 'warn',
  },
})
await worker.ready
const stop = async () => {
  await worker.dispose()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
