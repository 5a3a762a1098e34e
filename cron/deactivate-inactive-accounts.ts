import { deactivateInactiveAccounts } from '../src/services/accounts/inactivity'
import type { CronJob } from './registry'

/**
 * Hourly: deactivate members away for 30–50 days, sign them out and email them once. Honours
 * INACTIVITY_DEACTIVATION_DRY_RUN (on by default outside production), in which case it only logs.
 * 500 per run keeps a run to a few seconds of SMTP; at 24 runs a day that is 12 000 a day.
 */
export const deactivateInactiveAccountsJob: CronJob = {
  name: 'deactivate-inactive-accounts',
  run: async (s, scheduledAt) => {
    const result = await deactivateInactiveAccounts(s, {
      scheduledAt,
      batchSize: 500,
      dryRun: s.config.jobs.inactivityDryRun,
    })
    return { processed: result.deactivated }
  },
}
