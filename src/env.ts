import type { Conversation } from '../durable-objects/conversation'
import type { UserHub } from '../durable-objects/user-hub'
import type { JobMessage } from './services/platform/jobs'
import type { PushQueueMessage } from './services/push/queue'

/**
 * The Worker's bindings as declared in wrangler.toml, plus vars and secrets (strings, parsed and
 * validated by src/config.ts — handlers read `config`, never these raw strings).
 */
export interface Env {
  IMAGES_BUCKET: R2Bucket
  AUDIO_BUCKET: R2Bucket
  IMAGES: ImagesBinding
  CONVERSATION: DurableObjectNamespace<Conversation>
  USER_HUB: DurableObjectNamespace<UserHub>
  JOBS: Queue<JobMessage>
  /** Pushes, off the chat path (src/services/push/queue.ts). */
  PUSH: Queue<PushQueueMessage>
  [variable: string]: unknown
}
