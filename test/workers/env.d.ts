import type { Env as RapportEnv } from '../../src/env'

declare global {
  namespace Cloudflare {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- augments the pool's Env type
    interface Env extends RapportEnv {}
  }
}
