import type { Env as RapportEnv } from '../../src/env'

declare global {
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- augments the pool's Env type
    interface Env extends RapportEnv {}
  }

  interface ImportMeta {
    /** Vite's glob import, as the area test files use it: each matching module's lazy import. */
    glob(pattern: string): Record<string, () => Promise<unknown>>
  }
}
