import type { Env } from './env'
import type { Logger } from './lib/log'
import type { Services } from './services'
import type { AccountSummary } from './services/accounts/account-cache'
import type { LimitDecision } from './services/platform/rate-limit'
import type { Role } from './db/schema'

/** The authenticated caller, set by the auth middleware (accounts issue) when a token is valid. */
export interface Caller {
  userId: string
  sessionId: string
  role: Role
}

/** {@link AppEnv} behind `requireAuth`: the caller and their account are known. */
export type AuthedEnv = AppEnv & { Variables: { caller: Caller; account: AccountSummary } }

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
    /**
     * The caller's rate limit for this route, already counted (a settled decision) by requireAuth
     * in its Redis round trip with the tier the token names; tierRateLimit uses it when that tier
     * is still the account's.
     */
    countedLimit?: { route: string; tierId: string | null; identity: string; decision: LimitDecision }
  }
}
