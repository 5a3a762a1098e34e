import type { Env } from '../src/env'
import { createServices } from '../src/services'
import { describeError } from '../src/lib/log'
import { schedule } from './registry'

export interface CronRunReport {
  cron: string
  jobs: { name: string; ok: boolean; processed?: number; error?: string; durationMs: number }[]
}

/**
 * The `scheduled` entry: run every job registered for the firing expression, one after another,
 * each isolated so one failure does not stop the others. Unknown expressions are logged, not
 * thrown: a trigger left in the dashboard must not make every run fail.
 */
export async function handleScheduled(controller: ScheduledController, env: Env): Promise<CronRunReport> {
  const s = createServices(env)
  const jobs = schedule[controller.cron]
  const report: CronRunReport = { cron: controller.cron, jobs: [] }
  if (!jobs) {
    s.log.warn('cron.unknown_expression', { cron: controller.cron })
    return report
  }
  const scheduledAt = new Date(controller.scheduledTime)
  for (const job of jobs) {
    const started = Date.now()
    try {
      const { processed } = await job.run(s, scheduledAt)
      report.jobs.push({ name: job.name, ok: true, processed, durationMs: Date.now() - started })
    } catch (err) {
      s.log.error('cron.job_failed', { job: job.name, error: describeError(err) })
      report.jobs.push({ name: job.name, ok: false, error: String(err), durationMs: Date.now() - started })
    }
  }
  s.log.info('cron.run', { ...report })
  return report
}
