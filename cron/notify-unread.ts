import { notifyUnread } from '../src/services/chat/notifications'
import type { CronJob } from './registry'

/** Every minute: at most 200 emails a run keeps a run to seconds of SMTP; the rest wait a minute. */
export const notifyUnreadJob: CronJob = {
  name: 'notify-unread',
  run: async (s) => {
    const { sent } = await notifyUnread(s, { batchSize: 200 })
    return { processed: sent }
  },
}
