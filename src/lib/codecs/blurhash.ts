/**
 * BlurHash encoding (https://blurha.sh), producing exactly the strings of the `blurhash` npm
 * package's `encode` (the format's own implementation; test/workers/media/photos.ts compares the two).
 * That package converts every pixel from sRGB to linear light once per component and calls
 * `Math.cos` twice per pixel per component — about 80,000 `Math.pow`/`Math.cos` calls for a
 * 32 × 32 image with 4 × 4 components, which profiling showed as the largest piece of the
 * upload's own CPU in the Worker. Here each pixel is linearised once (a 256-entry table) and
 * the cosines come from per-axis tables; the sums run in the package's order, so every float
 * operation, and therefore the output, is the same.
 */

const digits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~'

function base83(value: number, length: number): string {
  let out = ''
  for (let i = 1; i <= length; i++) out += digits[Math.floor(Math.floor(value) / 83 ** (length - i)) % 83]
  return out
}

/** sRGB byte → linear light, as the `blurhash` package computes it. */
const toLinear = Float64Array.from({ length: 256 }, (_, byte) => {
  const v = byte / 255
  return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4)
})

function toSrgb(value: number): number {
  const v = Math.max(0, Math.min(1, value))
  return v <= 0.0031308
    ? Math.trunc(v * 12.92 * 255 + 0.5)
    : Math.trunc((1.055 * Math.pow(v, 1 / 2.4) - 0.055) * 255 + 0.5)
}

const signPow = (value: number, exp: number) => (value < 0 ? -1 : 1) * Math.pow(Math.abs(value), exp)

/**
 * The BlurHash of RGBA `pixels` (`width` × `height`, 4 bytes per pixel; alpha ignored) with
 * `componentsX` × `componentsY` components (1–9 each).
 *
 * @example
 * encodeBlurhash(rgba, 32, 32, 4, 4) // 'LEHV6nWB2yk8pyo0adR*.7kCMdnj'
 */
export function encodeBlurhash(
  pixels: Uint8Array | Uint8ClampedArray,
  width: number,
  height: number,
  componentsX: number,
  componentsY: number,
): string {
  if (componentsX < 1 || componentsX > 9 || componentsY < 1 || componentsY > 9) {
    throw new RangeError('BlurHash must have between 1 and 9 components')
  }
  if (width * height * 4 !== pixels.length)
    throw new RangeError('Width and height must match the pixels array')

  const linear = new Float64Array(width * height * 3)
  for (let p = 0, q = 0; p < pixels.length; p += 4, q += 3) {
    linear[q] = toLinear[pixels[p]!]!
    linear[q + 1] = toLinear[pixels[p + 1]!]!
    linear[q + 2] = toLinear[pixels[p + 2]!]!
  }
  const cosTable = (components: number, size: number) =>
    Array.from({ length: components }, (_, c) =>
      Float64Array.from({ length: size }, (_, i) => Math.cos((Math.PI * c * i) / size)),
    )
  const cosX = cosTable(componentsX, width)
  const cosY = cosTable(componentsY, height)

  const factors: [number, number, number][] = []
  for (let cy = 0; cy < componentsY; cy++) {
    for (let cx = 0; cx < componentsX; cx++) {
      const normalisation = cx === 0 && cy === 0 ? 1 : 2
      const tx = cosX[cx]!
      const ty = cosY[cy]!
      let r = 0
      let g = 0
      let b = 0
      // Column-major, as the `blurhash` package sums: the same order gives the same floating-point result.
      for (let x = 0; x < width; x++) {
        for (let y = 0; y < height; y++) {
          const basis = normalisation * tx[x]! * ty[y]!
          const q = (y * width + x) * 3
          r += basis * linear[q]!
          g += basis * linear[q + 1]!
          b += basis * linear[q + 2]!
        }
      }
      const scale = 1 / (width * height)
      factors.push([r * scale, g * scale, b * scale])
    }
  }

  const [dc, ...ac] = factors
  let hash = base83(componentsX - 1 + (componentsY - 1) * 9, 1)
  let maximum = 1
  if (ac.length > 0) {
    // The `blurhash` package takes the largest signed value, not the largest magnitude; kept for equality.
    const actual = Math.max(...ac.map((f) => Math.max(...f)))
    const quantised = Math.floor(Math.max(0, Math.min(82, Math.floor(actual * 166 - 0.5))))
    maximum = (quantised + 1) / 166
    hash += base83(quantised, 1)
  } else {
    hash += base83(0, 1)
  }
  hash += base83((toSrgb(dc![0]) << 16) + (toSrgb(dc![1]) << 8) + toSrgb(dc![2]), 4)
  for (const f of ac) {
    const q = (v: number) =>
      Math.floor(Math.max(0, Math.min(18, Math.floor(signPow(v / maximum, 0.5) * 9 + 9.5))))
    hash += base83(q(f[0]) * 19 * 19 + q(f[1]) * 19 + q(f[2]), 2)
  }
  return hash
}
