import { expireVerifications } from '../src/services/verification/expiry'
import type { CronJob } from './registry'

/**
 * Hourly: selfie-verification attempts live three days (then the attempt and its selfie are garbage).
 * Deleting the row queues its selfie for R2 deletion through the trigger in migrations/0005, so
 * the storage clean-up cron removes the object. 500 per run keeps a run short; a backlog drains
 * over the following hours.
 */
export const expireVerificationsJob: CronJob = {
  name: 'expire-verifications',
  run: async (s) => ({ processed: await expireVerifications(s, { batchSize: 500 }) }),
}
