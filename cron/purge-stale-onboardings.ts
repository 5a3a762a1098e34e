import { purgeStaleOnboardings } from '../src/services/accounts/onboarding'
import type { CronJob } from './registry'

/** Daily: onboarding drafts untouched for a week lose their photos, draft profile and name. */
export const purgeStaleOnboardingsJob: CronJob = {
  name: 'purge-stale-onboardings',
  run: async (s) => {
    const purged = await purgeStaleOnboardings(s, { batchSize: 500 })
    s.log.info('onboarding.purged', { purged })
    return { processed: purged }
  },
}
