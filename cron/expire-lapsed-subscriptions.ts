import { expireLapsedSubscriptions } from '../src/services/billing/entitlements'
import type { CronJob } from './registry'

/**
 * Paid access that ran out without a closing webhook (a cancellation reaching its end, a billing
 * grace period ending) returns the member to the default tier within ten minutes.
 */
export const expireLapsedSubscriptionsJob: CronJob = {
  name: 'expire-lapsed-subscriptions',
  run: async (s) => ({ processed: (await expireLapsedSubscriptions(s)).expired }),
}
