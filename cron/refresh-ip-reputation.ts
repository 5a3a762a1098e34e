import { refreshIpReputationLists } from '../src/services/ip-reputation/lists'
import type { CronJob } from './registry'

/**
 * Every four hours (the lists change daily at most): reload the IP reputation lists the sign-in check
 * reads. An unchanged list is not rewritten; a list that fails to download keeps its ranges.
 */
export const refreshIpReputationJob: CronJob = {
  name: 'refresh-ip-reputation',
  run: async (s) => {
    const results = await refreshIpReputationLists(s)
    return { processed: results.filter((r) => r.status === 'loaded').length }
  },
}
