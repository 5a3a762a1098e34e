import type { Env } from './env'
import { createServices } from './services'
import { type BatchQueue, batchQueues, jobRegistry } from './job-registry'
import { JobMessageSchema, markJobDead, retryDelaySeconds, runJobDelivery } from './services/platform/jobs'
import { describeError } from './lib/log'

/**
 * Queue consumer for both the jobs queue and its dead-letter queue (wrangler.toml binds both
 * to this Worker). Messages are handled one by one and acknowledged individually, so one
 * failing job never causes the rest of its batch to be redelivered.
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const s = createServices(env)
  const batchQueue = batchQueues.find((q) => batch.queue.startsWith(q.prefix))
  if (batchQueue) return handleBatchQueue(s, batchQueue, batch)
  const deadLetters = batch.queue.includes('-dlq')
  for (const msg of batch.messages) {
    const parsed = JobMessageSchema.safeParse(msg.body)
    if (!parsed.success) {
      // Retrying a message that cannot be parsed would fail identically every time.
      s.log.error('queue.malformed_message', { queue: batch.queue, messageId: msg.id })
      msg.ack()
      continue
    }
    try {
      if (deadLetters) {
        await markJobDead(s, jobRegistry, parsed.data)
        msg.ack()
        continue
      }
      const { outcome, delaySeconds } = await runJobDelivery(s, jobRegistry, parsed.data, msg.attempts)
      if (outcome === 'retry') msg.retry({ delaySeconds: delaySeconds ?? retryDelaySeconds(msg.attempts) })
      else msg.ack()
    } catch (err) {
      // Infrastructure failure (database unreachable): let the queue deliver it again later.
      s.log.error('queue.handler_error', { queue: batch.queue, messageId: msg.id, error: describeError(err) })
      msg.retry({ delaySeconds: retryDelaySeconds(msg.attempts) })
    }
  }
}

/**
 * A queue of src/job-registry.ts's `batchQueues` (the push queue): the whole batch at once. The
 * batch is retried by the queue only when the handler could not run (database unreachable).
 */
async function handleBatchQueue(
  s: ReturnType<typeof createServices>,
  queue: BatchQueue,
  batch: MessageBatch<unknown>,
) {
  const valid: unknown[] = []
  for (const msg of batch.messages) {
    const parsed = queue.schema.safeParse(msg.body)
    if (parsed.success) valid.push(parsed.data)
    else s.log.error('queue.malformed_message', { queue: batch.queue, messageId: msg.id })
  }
  try {
    await queue.handle(s, valid)
    batch.ackAll()
  } catch (err) {
    s.log.error('queue.handler_error', { queue: batch.queue, error: describeError(err) })
    batch.retryAll({ delaySeconds: retryDelaySeconds(batch.messages[0]?.attempts ?? 1) })
  }
}
