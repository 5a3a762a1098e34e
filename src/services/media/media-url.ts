import type { Config } from '../../config'

export type MediaBucket = 'images' | 'audio'

/**
 * The URL a client fetches a stored media object from: the bucket's public hostname when one is
 * configured (IMAGES_PUBLIC_URL / AUDIO_PUBLIC_URL, served by R2 straight from Cloudflare's
 * cache), else the Worker's own `/media/<bucket>/<key>` route under PUBLIC_URL. Always absolute,
 * so REST responses and socket frames carry the same URL. Object keys carry random ids and never
 * change content, so either URL may be cached forever.
 *
 * @example
 * mediaUrl(config, 'images', `450-${photo.id}.jpg`)
 * // → 'https://images.rapport.example/450-….jpg' or 'https://api.rapport.example/media/images/450-….jpg'
 */
export function mediaUrl(config: Config, bucket: MediaBucket, key: string): string {
  const base = bucket === 'images' ? config.media.imagesPublicUrl : config.media.audioPublicUrl
  return base ? `${base}/${key}` : `${config.publicUrl}/media/${bucket}/${key}`
}
