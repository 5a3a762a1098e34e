import { renderVariants } from './image-variants'
import { newMediaId, putImages } from './media-objects'
import { inspectUpload } from './upload-checks'
import type { Services } from '..'

/**
 * Store a verification selfie: the same checks as a photo (format, declared size, truncation,
 * banned files), rendered only as a 450 × 450 centre crop, `450-<selfieId>.jpg` in the images
 * bucket. Writes no row: the caller records `selfieId` and `hash` (SHA-256 hex of the uploaded
 * bytes), and if that write fails it should pass the key to {@link queueImageDeletions}.
 *
 * @example
 * const { selfieId, hash } = await storeSelfie(s, userId, bytes)
 */
export async function storeSelfie(
  s: Services,
  userId: string,
  bytes: Uint8Array,
): Promise<{ selfieId: string; hash: string }> {
  const upload = await inspectUpload(s, bytes)
  const rendered = await renderVariants(s, upload, { original: false, squares: [450], blurhash: false })
  const selfieId = newMediaId()
  await putImages(s, [
    { key: `450-${selfieId}.jpg`, body: rendered.squares.get(450)!, contentType: 'image/jpeg' },
  ])
  s.log.debug('photos.selfie_stored', { userId, selfieId })
  return { selfieId, hash: upload.hash }
}
