import { describe } from 'vitest'

/**
 * Runs a folder of test modules as one vitest test file.
 *
 * Every test file in the workerd projects gets a runtime of its own: a fresh Miniflare, a workerd
 * process, and the Worker's few hundred modules sent to it and evaluated again. That costs about
 * 2.5 s of wall time and 2 s of CPU before the file's first test, so sixty-odd small files spent
 * more time starting than testing. The test modules of one area (chat, push, media, …) therefore
 * live in a folder named after it, and `test/workers/<area>.test.ts` runs them all in one runtime.
 *
 * Each module's tests sit in a `describe` block named after the module (`chat > inbox > …`), and
 * the module is imported inside that block, so its top-level `beforeAll`/`afterEach` hooks apply
 * to its own tests only. Modules of one area share the runtime, so they share what the Worker
 * keeps in memory between requests and what R2 and the Durable Objects store: a module must not
 * assume an empty bucket or a fresh isolate (none does: they create their own members, objects
 * and conversations). Run one module with `-t`, e.g. `npx vitest run test/workers/chat -t inbox`.
 */
export function describeModules(modules: Record<string, () => Promise<unknown>>): void {
  const entries = Object.entries(modules).sort(([a], [b]) => a.localeCompare(b))
  if (entries.length === 0) throw new Error('describeModules: the pattern matched no test modules')
  for (const [path, load] of entries) {
    const name = path.replace(/^.*\//, '').replace(/\.ts$/, '')
    describe(name, async () => {
      await load()
    })
  }
}
