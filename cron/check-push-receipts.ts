import { checkExpoReceipts } from '../src/services/push/receipts'
import type { CronJob } from './registry'

/**
 * Every 10 minutes: Expo receipts for tickets older than 15 minutes; tokens Expo reports as
 * `DeviceNotRegistered` are deleted. 5 × 1,000 tickets per run bounds it to five requests.
 */
export const checkPushReceiptsJob: CronJob = {
  name: 'check-push-receipts',
  run: async (s) => {
    const { checked } = await checkExpoReceipts(s, { batches: 5 })
    return { processed: checked }
  },
}
