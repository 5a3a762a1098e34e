import { collectAccountGarbage } from '../src/services/accounts/garbage'
import { purgeExpiredModerationTokens } from '../src/services/moderation/moderation-links'
import type { CronJob } from './registry'

/**
 * Daily: delete spent sign-in challenges, refresh tokens, sessions, export tokens and old bans
 * (rules in {@link collectAccountGarbage}) and expired moderation links, at most 5 000 rows per
 * table per run.
 */
export const collectGarbageJob: CronJob = {
  name: 'collect-garbage',
  run: async (s) => {
    const deleted = {
      ...(await collectAccountGarbage(s, { batchSize: 5000 })),
      moderationTokens: await purgeExpiredModerationTokens(s, { batchSize: 5000 }),
    }
    s.log.info('gc.run', { ...deleted })
    return { processed: Object.values(deleted).reduce((a, b) => a + b, 0) }
  },
}
