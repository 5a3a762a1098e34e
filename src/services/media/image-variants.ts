import { encodeBlurhash } from '../../lib/codecs/blurhash'
import { ApiError } from '../../lib/http/errors'
import {
  type ImageHeader,
  orientedSize,
  readImageHeader,
  withoutOrientation,
} from '../../lib/codecs/image-header'
import { describeError } from '../../lib/log'
import { jpegDcPixels, withoutJpegMetadata } from '../../lib/codecs/jpeg-dc'
import { type Pixels, decodePng } from '../../lib/codecs/png-pixels'
import { type Inspected, bodyError } from './upload-checks'
import type { Services } from '..'

/**
 * The variants of a checked upload: the oriented original, square crops and the blurhash. Pixels
 * are rendered on the Cloudflare Images binding, never decoded in full in the Worker; each output
 * of the binding is billed as a transformation, so the Worker makes what it can without one (an
 * upright JPEG's original, the blurhash from the smallest square's block averages).
 */

const blurhashSide = 32
const blurhashComponents = 4
const jpegQuality = 85

// ---------------------------------------------------------------------------------------------
// Processing

/** Where the square crop sits in the oriented image, in its pixels. */
export interface SquareCrop {
  left: number
  top: number
  side: number
}

/**
 * The square crop of side min(width, height) at the requested offsets, clamped into the image;
 * a missing offset centres the crop on that axis.
 *
 * @example
 * squareCrop({ width: 4000, height: 3000 }, { left: 9999 }) // { left: 1000, top: 0, side: 3000 }
 */
export function squareCrop(
  size: { width: number; height: number },
  offsets: { left?: number; top?: number } = {},
): SquareCrop {
  const side = Math.min(size.width, size.height)
  const clamp = (value: number | undefined, room: number) =>
    Math.min(room, Math.max(0, Math.round(value ?? room / 2)))
  return { side, left: clamp(offsets.left, size.width - side), top: clamp(offsets.top, size.height - side) }
}

/**
 * The transform that shows a stored image the way its EXIF orientation says. Cloudflare Images
 * flips before it rotates (clockwise); 5 and 7 are the transpose and transverse.
 */
export function orientationTransform(orientation: number): ImageTransform | undefined {
  switch (orientation) {
    case 2:
      return { flip: 'h' }
    case 3:
      return { rotate: 180 }
    case 4:
      return { flip: 'v' }
    case 5:
      return { flip: 'h', rotate: 270 }
    case 6:
      return { rotate: 90 }
    case 7:
      return { flip: 'h', rotate: 90 }
    case 8:
      return { rotate: 270 }
    default:
      return undefined
  }
}

const undecodable = () =>
  bodyError('validation_failed', 'The image could not be decoded; is the file damaged?')

/**
 * Images-binding error codes that mean "this input is bad" (not an image, too large, unsupported
 * format); anything else is the service failing and worth a retry.
 */
const badInputCodes = new Set([9402, 9412, 9413, 9520])

/**
 * Run one chain of transforms on the Images binding and return the encoded output. The binding
 * takes a stream per call; a Blob's stream re-reads the same bytes without copying them.
 */
async function render(
  s: Services,
  input: Blob,
  transforms: (ImageTransform | undefined)[],
  format: 'image/jpeg' | 'image/png',
): Promise<Uint8Array> {
  let bytes: Uint8Array
  try {
    let chain = s.env.IMAGES.input(input.stream())
    for (const t of transforms) if (t) chain = chain.transform(t)
    const result = await chain.output(format === 'image/jpeg' ? { format, quality: jpegQuality } : { format })
    bytes = new Uint8Array(await result.response().arrayBuffer())
  } catch (err) {
    const code = (err as { code?: unknown }).code
    s.log.warn('photos.images_binding_failed', { error: describeError(err), code })
    if (typeof code === 'number' && badInputCodes.has(code)) throw undecodable()
    throw new ApiError('service_unavailable', 'Image processing is unavailable; try again shortly', {
      cause: err,
    })
  }
  if (bytes.length === 0) throw undecodable()
  return bytes
}

/**
 * A rendered variant must be a whole image of the size asked for. An empty or unreadable output
 * means the input did not decode (422); a whole image of another size means the pipeline is
 * wrong, which must not be stored (500, logged).
 */
function checkOutput(
  s: Services,
  bytes: Uint8Array,
  format: 'jpeg' | 'png',
  expected: { width: number; height: number },
  variant: string,
): void {
  let header: ImageHeader
  try {
    header = readImageHeader(bytes)
  } catch {
    throw undecodable()
  }
  if (header.format !== format || header.width !== expected.width || header.height !== expected.height) {
    s.log.error('photos.unexpected_output', {
      variant,
      expected,
      got: { format: header.format, width: header.width, height: header.height },
    })
    throw new Error(`Images binding returned an unexpected ${variant} variant`)
  }
}

interface Rendered {
  original: Uint8Array
  squares: Map<number, Uint8Array>
  blurhash: string
}

/**
 * Render the requested variants of a validated upload. The original and the largest square come
 * from the upload itself, in parallel; each smaller square is resized from the one before it and
 * the blurhash source from the smallest. Only two renders then decode the full-size upload —
 * the costly part on the Images service, and the bytes the Worker streams to it — instead of one
 * per variant; downscaling an already-cropped 900 px JPEG by half loses nothing visible.
 */
export async function renderVariants(
  s: Services,
  upload: Inspected,
  opts: {
    offsets?: { left?: number; top?: number }
    original: boolean
    squares: readonly number[]
    blurhash: boolean
  },
): Promise<Rendered> {
  const input = new Blob([withoutOrientation(upload.bytes, upload.header)])
  const orient = orientationTransform(upload.header.orientation)
  const size = orientedSize(upload.header)
  const crop = squareCrop(size, opts.offsets)
  const trim = { left: crop.left, top: crop.top, width: crop.side, height: crop.side }
  const resize = (side: number): ImageTransform => ({ width: side, height: side, fit: 'cover' })

  // An upright JPEG already is its original: only its metadata (the GPS position among it) goes.
  const asUploaded =
    opts.original && upload.header.format === 'jpeg' && upload.header.orientation === 1
      ? withoutJpegMetadata(upload.bytes)
      : null
  const original = !opts.original
    ? Promise.resolve(new Uint8Array())
    : asUploaded
      ? Promise.resolve(asUploaded)
      : render(s, input, [orient], 'image/jpeg').then((bytes) => {
          checkOutput(s, bytes, 'jpeg', size, 'original')
          return bytes
        })

  const squaresAndBlurhash = (async () => {
    const squares = new Map<number, Uint8Array>()
    let previous: Blob | undefined
    for (const side of [...opts.squares].sort((a, b) => b - a)) {
      const bytes = previous
        ? await render(s, previous, [resize(side)], 'image/jpeg')
        : await render(s, input, [orient, { trim, ...resize(side) }], 'image/jpeg')
      checkOutput(s, bytes, 'jpeg', { width: side, height: side }, String(side))
      squares.set(side, bytes)
      previous = new Blob([bytes])
    }
    if (!opts.blurhash) return { squares, blurhash: '' }
    // The smallest square's 8 × 8 block averages (57 × 57 for 450) are a blurhash source as good
    // as a 32 × 32 render, read without decoding the JPEG; a JPEG the reader does not handle
    // (progressive, say) gets the render.
    const smallest = squares.size ? squares.get(Math.min(...squares.keys()))! : undefined
    let pixels: Pixels | null = smallest ? jpegDcPixels(smallest) : null
    if (!pixels) {
      const source: (ImageTransform | undefined)[] = previous
        ? [resize(blurhashSide)]
        : [orient, { trim, ...resize(blurhashSide) }]
      const png = await render(s, previous ?? input, source, 'image/png')
      checkOutput(s, png, 'png', { width: blurhashSide, height: blurhashSide }, 'blurhash')
      pixels = await decodePng(png)
    }
    const blurhash = encodeBlurhash(
      pixels.data,
      pixels.width,
      pixels.height,
      blurhashComponents,
      blurhashComponents,
    )
    return { squares, blurhash }
  })()

  const [o, rest] = await Promise.all([original, squaresAndBlurhash])
  return { original: o, squares: rest.squares, blurhash: rest.blurhash }
}
