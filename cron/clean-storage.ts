import { cleanStorage } from '../src/services/media/storage-cleanup'
import type { CronJob } from './registry'

/**
 * Every 10 minutes: delete queued R2 objects (replaced or deleted photos, voice bios and
 * selfies) once their grace hour has passed, up to 10 000 keys per run (1.44 million a day; the
 * rest waits). Throws after committing what succeeded when R2 refused some deletions, so the run
 * shows as failed while those keys stay queued for the next one.
 */
export const cleanStorageJob: CronJob = {
  name: 'clean-storage',
  run: async (s) => {
    const result = await cleanStorage(s, { batchSize: 1000, maxBatches: 10 })
    s.log.info('storage_cleanup.run', { ...result })
    if (result.failed > 0) {
      throw new Error(`R2 refused ${result.failed} deletions; they stay queued for the next run`)
    }
    return { processed: result.deleted + result.kept }
  },
}
