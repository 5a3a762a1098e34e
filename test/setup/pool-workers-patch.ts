import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/**
 * A fix to @cloudflare/vitest-pool-workers 0.15.1 (the version the pinned wrangler allows), applied
 * to the installed copy each time vitest loads its config.
 *
 * The pool wraps the Worker's entrypoint and Durable Object classes so that RPC can reach names
 * the prototype does not declare: the wrapper's constructor replaces the class's prototype with a
 * Proxy over it. It does so on every construction, so each one wraps the previous Proxy, and after
 * n constructions every property read on an instance runs n nested `get` traps. A test runtime
 * constructs the entrypoint once per request, so the suite got slower request by request: a
 * profile of the workerd test runtime spent 17 s of 45 s in that trap, and later test files ran
 * many times slower than alone. The fix keeps the Proxy where the pool installs it (inside the
 * first construction) and installs it only once. Later releases of the pool do the same.
 *
 * Writing the file is a rename of a complete copy, so two vitest processes that start at once
 * (`npm test` runs two) never read it half written. Any other text (a release with its own fix)
 * is left as it is.
 */
export const poolWorkersInternals = fileURLToPath(
  new URL(
    '../../node_modules/@cloudflare/vitest-pool-workers/dist/worker/lib/cloudflare/test-internal.mjs',
    import.meta.url,
  ),
)

const wrapsEveryTime = `\tfunction Class(...args) {
\t\tClass.prototype = new Proxy(Class.prototype, {`

const wrapsOnce = `\tlet prototypeProxied = false;
\tfunction Class(...args) {
\t\tif (!prototypeProxied) prototypeProxied = true, Class.prototype = new Proxy(Class.prototype, {`

/** What patching a file did: `patched` now, `already` patched before, `unknown` text left alone. */
export type PatchOutcome = 'patched' | 'already' | 'unknown'

export function patchPoolWorkers(path = poolWorkersInternals): PatchOutcome {
  const text = readFileSync(path, 'utf8')
  if (text.includes(wrapsOnce)) return 'already'
  if (text.split(wrapsEveryTime).length !== 2) return 'unknown'
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, text.replace(wrapsEveryTime, wrapsOnce))
  renameSync(temporary, path)
  return 'patched'
}
