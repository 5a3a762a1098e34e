import type { Env } from './env'
import type { Logger } from './lib/log'
import type { Services } from './services'
import type { AccountSummary } from './services/account-cache'

/** The authenticated caller, set by the auth middleware (accounts issue) when a token is valid. */
export interface Caller {
  userId: string
  sessionId: string
  role: 'member' | 'moderator' | 'admin' | 'bot'
}

/** Hono generics for every Rapport router. */
export interface AppEnv {
  Bindings: Env
  Variables: {
    requestId: string
    clientIp: string
    services: Services
    log: Logger
    caller?: Caller
    /** The caller's account (cached ≤ 60 s), set by requireAuth. */
    account?: AccountSummary
  }
}
