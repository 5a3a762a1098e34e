import jpegJs from 'jpeg-js'
import { describe, expect, it } from 'vitest'
import { jpegDcPixels, withoutJpegMetadata } from '../src/lib/codecs/jpeg-dc'

/** RGBA of a smooth picture: red rising to the right, green downwards, blue in waves. */
function picture(width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 4)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4
      data[o] = 20 + (x / width) * 210
      data[o + 1] = 30 + (y / height) * 190
      data[o + 2] = 128 + 80 * Math.sin((x + y) / 40)
      data[o + 3] = 255
    }
  }
  return data
}

const encode = (width: number, height: number, extra: { exifBuffer?: Uint8Array } = {}) =>
  new Uint8Array(jpegJs.encode({ width, height, data: picture(width, height), ...extra } as never, 85).data)

/** The average RGB of each 8 × 8 block of a full decode. */
function blockAverages(jpeg: Uint8Array) {
  const full = jpegJs.decode(jpeg, { useTArray: true, formatAsRGBA: true })
  const w = Math.ceil(full.width / 8)
  const h = Math.ceil(full.height / 8)
  const out: number[][] = []
  for (let by = 0; by < h; by++) {
    for (let bx = 0; bx < w; bx++) {
      const sum = [0, 0, 0]
      let n = 0
      for (let y = by * 8; y < Math.min(full.height, by * 8 + 8); y++) {
        for (let x = bx * 8; x < Math.min(full.width, bx * 8 + 8); x++) {
          const o = (y * full.width + x) * 4
          for (let c = 0; c < 3; c++) sum[c]! += full.data[o + c]!
          n++
        }
      }
      out.push(sum.map((v) => v / n))
    }
  }
  return { width: w, height: h, averages: out }
}

describe('jpegDcPixels', () => {
  it('reads each 8 × 8 block’s average colour without decoding the picture', () => {
    const jpeg = encode(450, 450)
    const dc = jpegDcPixels(jpeg)!
    const reference = blockAverages(jpeg)
    expect({ width: dc.width, height: dc.height }).toEqual({ width: 57, height: 57 })
    let worst = 0
    reference.averages.forEach((rgb, i) => {
      // The last row and column of blocks are padded by the encoder: compare whole blocks only.
      if (i % 57 === 56 || i >= 56 * 57) return
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(dc.data[i * 4 + c]! - rgb[c]!))
    })
    expect(worst).toBeLessThanOrEqual(4)
  })

  it('reads sizes that are not a multiple of 8', () => {
    const dc = jpegDcPixels(encode(70, 33))!
    expect({ width: dc.width, height: dc.height }).toEqual({ width: 9, height: 5 })
    // Red rises to the right, green downwards.
    expect(dc.data[(2 * 9 + 8) * 4]!).toBeGreaterThan(dc.data[2 * 9 * 4]! + 100)
    expect(dc.data[(4 * 9 + 4) * 4 + 1]!).toBeGreaterThan(dc.data[4 * 4 + 1]! + 80)
  })

  it('returns null for what it does not read: progressive, truncated, not a JPEG', () => {
    const jpeg = encode(64, 64)
    const progressive = jpeg.slice()
    const sof = progressive.findIndex((b, i) => b === 0xff && progressive[i + 1] === 0xc0)
    progressive[sof + 1] = 0xc2
    expect(jpegDcPixels(progressive)).toBeNull()
    expect(jpegDcPixels(jpeg.subarray(0, jpeg.length >> 1))).toBeNull()
    expect(jpegDcPixels(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]))).toBeNull()
  })
})

describe('withoutJpegMetadata', () => {
  /** "Exif\0\0" and a TIFF header with a GPS-like payload, as a phone writes it. */
  const exif = new Uint8Array([
    0x45,
    0x78,
    0x69,
    0x66,
    0,
    0,
    0x4d,
    0x4d,
    0,
    42,
    0,
    0,
    0,
    8,
    0,
    0,
    ...new TextEncoder().encode('GPS 52.52N 13.40E'),
  ])
  const comment = (text: string) => {
    const body = new TextEncoder().encode(text)
    return new Uint8Array([0xff, 0xfe, (body.length + 2) >> 8, (body.length + 2) & 255, ...body])
  }

  it('drops EXIF, comments and what follows the image; the pixels stay byte for byte', () => {
    const base = encode(96, 64, { exifBuffer: exif })
    // A comment after SOI and a "motion photo" appended after the end of the image.
    const upload = new Uint8Array([
      ...base.subarray(0, 2),
      ...comment('taken at home'),
      ...base.subarray(2),
      ...new TextEncoder().encode('ftypmp42 video…'),
      0xff,
      0xd9,
    ])
    const clean = withoutJpegMetadata(upload)!
    const text = new TextDecoder('latin1').decode(clean)
    expect(text).not.toContain('GPS')
    expect(text).not.toContain('Exif')
    expect(text).not.toContain('taken at home')
    expect(text).not.toContain('ftyp')
    expect([clean[clean.length - 2], clean[clean.length - 1]]).toEqual([0xff, 0xd9])
    expect(text).toContain('JFIF') // APP0 is kept
    const before = jpegJs.decode(upload, { useTArray: true })
    const after = jpegJs.decode(clean, { useTArray: true })
    expect(after.data).toEqual(before.data)
    expect(jpegDcPixels(clean)).toEqual(jpegDcPixels(upload))
  })

  it('returns null when the structure cannot be followed or the samples need converting', () => {
    const jpeg = encode(32, 32)
    const sof = jpeg.findIndex((b, i) => b === 0xff && jpeg[i + 1] === 0xc0)
    const twelveBit = jpeg.slice()
    twelveBit[sof + 4] = 12
    expect(withoutJpegMetadata(twelveBit)).toBeNull()
    const fourComponents = jpeg.slice()
    fourComponents[sof + 9] = 4
    expect(withoutJpegMetadata(fourComponents)).toBeNull()
    expect(withoutJpegMetadata(jpeg.subarray(0, jpeg.length - 2))).toBeNull()
    expect(withoutJpegMetadata(new Uint8Array([1, 2, 3, 4]))).toBeNull()
  })
})
