import type { Env } from './env'
import { createServices } from './services'
import { JobMessageSchema, markJobDead, retryDelaySeconds, runJobDelivery } from './services/platform/jobs'
import { type PushQueueMessage, PushQueueMessageSchema, handlePushBatch } from './services/push/queue'
import { describeError } from './lib/log'

/**
 * Queue consumer for both the jobs queue and its dead-letter queue (wrangler.toml binds both
 * to this Worker). Messages are handled one by one and acknowledged individually, so one
 * failing job never causes the rest of its batch to be redelivered.
 */
export async function handleQueue(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const s = createServices(env)
  if (batch.queue.startsWith('rapport-push-')) return handlePushQueue(s, batch)
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
        await markJobDead(s, parsed.data)
        msg.ack()
        continue
      }
      const { outcome, delaySeconds } = await runJobDelivery(s, parsed.data, msg.attempts)
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
 * The push queue: the whole batch at once (pushes share Expo requests). Items that may succeed
 * later are re-queued by the handler itself; the batch is retried by the queue only when the
 * handler could not run (database unreachable).
 */
async function handlePushQueue(s: ReturnType<typeof createServices>, batch: MessageBatch<unknown>) {
  const valid: PushQueueMessage[] = []
  for (const msg of batch.messages) {
    const parsed = PushQueueMessageSchema.safeParse(msg.body)
    if (parsed.success) valid.push(parsed.data)
    else s.log.error('queue.malformed_message', { queue: batch.queue, messageId: msg.id })
  }
  try {
    await handlePushBatch(s, valid)
    batch.ackAll()
  } catch (err) {
    s.log.error('queue.handler_error', { queue: batch.queue, error: String(err) })
    batch.retryAll({ delaySeconds: retryDelaySeconds(batch.messages[0]?.attempts ?? 1) })
  }
}
