import { and, eq } from 'drizzle-orm'
import { signInChallenges, users } from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { revokeUserSessions } from './sessions'
import type { Services } from '..'
import { forgetAccount } from './account-cache'

/**
 * The member's own account: deactivation and deletion. The data export, inactivity deactivation
 * and garbage collection live beside it (data-export.ts, inactivity.ts, garbage.ts).
 */

export const day = 86_400_000

/** How long an export link works once issued (the seed's 10 minutes). */
export const exportTokenTtlSeconds = 600

// ---------------------------------------------------------------------------------------------
// Deactivation and deletion

export interface DeactivationState {
  status: 'deactivated'
  deactivatedAt: Date
}

/**
 * Hide the caller's account until they sign in again (sign-in sets `status` back to `active`).
 * Sessions are kept on purpose: the member can still read their own data and sign back in from
 * the same device. Idempotent: deactivating twice keeps the first time and reason.
 *
 * Accounts still onboarding cannot be deactivated (409): since signing in again makes a
 * deactivated account `active`, it would let someone skip onboarding.
 *
 * @example
 * const { status, deactivatedAt } = await deactivateAccount(s, caller.userId)
 */
export async function deactivateAccount(s: Services, userId: string): Promise<DeactivationState> {
  const now = s.clock.now()
  const [changed] = await s.database.db
    .update(users)
    .set({ status: 'deactivated', deactivatedAt: now, deactivationReason: 'user', updatedAt: now })
    .where(and(eq(users.id, userId), eq(users.status, 'active')))
    .returning({ deactivatedAt: users.deactivatedAt })
  if (changed) {
    await forgetAccount(s, userId)
    return { status: 'deactivated', deactivatedAt: changed.deactivatedAt! }
  }

  const [user] = await s.database.db
    .select({ status: users.status, deactivatedAt: users.deactivatedAt })
    .from(users)
    .where(eq(users.id, userId))
  if (!user) throw new ApiError('not_found', 'No such account')
  if (user.status === 'onboarding') {
    throw new ApiError('conflict', 'Finish onboarding before deactivating the account')
  }
  return { status: 'deactivated', deactivatedAt: user.deactivatedAt ?? now }
}

/**
 * Delete an account and everything that is the member's. The one path every deletion takes
 * (the member's own `DELETE /api/v1/me` today; admin bans later), so what "everything" means is
 * decided here once.
 *
 * 1. Every session is revoked first, in Redis as well as Postgres, so access tokens already in
 *    the member's hands stop working at once rather than at expiry: deleting the session rows
 *    alone would leave no revocation marker for the auth middleware to find.
 * 2. Stored files will be queued for deletion from R2 here, before the rows that name them go.
 *    No table holds files yet; the media issue adds that step to this function.
 * 3. The user row goes, and with it, by foreign-key cascade, sessions, refresh tokens, export
 *    tokens and jobs. Pending sign-in challenges hold the email and IP but no foreign key, so
 *    they are deleted by email in the same transaction. Bans against the email stay: they are
 *    the operators' record and must outlive the account, or deleting it would lift them.
 *
 * @example
 * await deleteAccount(s, caller.userId)
 */
export async function deleteAccount(s: Services, userId: string): Promise<void> {
  await revokeUserSessions(s, userId, 'account_deleted')
  const [user] = await s.database.db.select({ email: users.email }).from(users).where(eq(users.id, userId))
  if (!user) return
  // neon-http batch: one round trip, one transaction.
  await s.database.db.batch([
    s.database.db.delete(signInChallenges).where(eq(signInChallenges.email, user.email)),
    s.database.db.delete(users).where(eq(users.id, userId)),
  ])
  await forgetAccount(s, userId)
  s.log.info('account.deleted', { userId })
}
