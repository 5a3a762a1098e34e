import type { Services } from '../src/services'
import { checkPushReceiptsJob } from './check-push-receipts'
import { cleanStorageJob } from './clean-storage'
import { collectGarbageJob } from './collect-garbage'
import { deactivateInactiveAccountsJob } from './deactivate-inactive-accounts'
import { expireLapsedSubscriptionsJob } from './expire-lapsed-subscriptions'
import { expireVerificationsJob } from './expire-verifications'
import { notifyUnreadJob } from './notify-unread'
import { purgeFinishedJobsJob } from './purge-finished-jobs'
import { purgeStaleOnboardingsJob } from './purge-stale-onboardings'
import { refreshIpReputationJob } from './refresh-ip-reputation'

export interface CronJob {
  name: string
  /** Must be idempotent and bounded: a run may be late, repeated or overlap the next one. */
  run(s: Services, scheduledAt: Date): Promise<{ processed: number }>
}

/**
 * Which jobs each cron expression runs. The expressions must match `[triggers] crons` in
 * wrangler.toml (a test checks both directions).
 */
export const schedule: Record<string, CronJob[]> = {
  // Every minute: unread-message notifications (chat issue).
  '* * * * *': [notifyUnreadJob],
  // Every 10 minutes: R2 storage clean-up (media issue), lapsed paid access (purchases), Expo push
  // receipts.
  '*/10 * * * *': [cleanStorageJob, expireLapsedSubscriptionsJob, checkPushReceiptsJob],
  // Hourly: inactivity deactivation, expired selfie verifications.
  '17 * * * *': [deactivateInactiveAccountsJob, expireVerificationsJob],
  // Every four hours: the IP reputation lists checked at sign-in.
  '29 */4 * * *': [refreshIpReputationJob],
  // Daily: garbage collection.
  '43 3 * * *': [purgeFinishedJobsJob, collectGarbageJob, purgeStaleOnboardingsJob],
}
