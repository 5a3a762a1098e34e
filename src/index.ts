import { handleScheduled } from '../cron'
import { appFor } from './app'
import type { Env } from './env'
import { handleQueue } from './queue'

export { Conversation } from '../durable-objects/conversation'
export { UserHub } from '../durable-objects/user-hub'

/** The Worker entry: HTTP API, Cron Triggers and the jobs queue consumer. */
export default {
  fetch: (request, env, ctx) => appFor(env).fetch(request, env, ctx),
  scheduled: async (controller, env) => {
    await handleScheduled(controller, env)
  },
  queue: (batch, env) => handleQueue(batch, env),
} satisfies ExportedHandler<Env>
