import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  AudioProbeError,
  MAX_JUNK_BYTES,
  MAX_METADATA_BYTES,
  MIN_AUDIO_BITRATE,
  checkPlausibleSize,
  probeAudio,
} from '../src/lib/codecs/audio-probe'
import { concatBytes } from '../src/lib/codecs/bytes'

const concat = (...parts: Uint8Array[]) => concatBytes(parts)

/**
 * The audio probe on its own: exact parsing of every fixture against ffprobe's reading
 * (manifest.json), crafted variants of the rules, and robustness against cut and damaged files.
 * The HTTP behaviour is covered by test/workers/media/voice-bio.ts.
 */

const dir = join(import.meta.dirname, 'fixtures/audio')
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as Record<
  string,
  { bytes: number; ffprobeDurationMs: number | null }
>
const fixture = (name: string) => new Uint8Array(readFileSync(join(dir, name)))

function problemOf(bytes: Uint8Array): { problem: string; message: string } {
  try {
    probeAudio(bytes)
  } catch (err) {
    if (err instanceof AudioProbeError) return { problem: err.problem, message: err.message }
    throw err
  }
  throw new Error('expected the probe to refuse the file')
}

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0))
const indexOf = (b: Uint8Array, needle: number[], from = 0) => {
  outer: for (let i = from; i <= b.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (b[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

describe('accepted fixtures', () => {
  const cases: [
    string,
    { container: string; codec: string; contentType: string; extension: string; channels: number },
  ][] = [
    [
      'speech.m4a',
      { container: 'mp4', codec: 'aac', contentType: 'audio/mp4', extension: 'm4a', channels: 1 },
    ],
    [
      'faststart.m4a',
      { container: 'mp4', codec: 'aac', contentType: 'audio/mp4', extension: 'm4a', channels: 1 },
    ],
    [
      'fragmented.m4a',
      { container: 'mp4', codec: 'aac', contentType: 'audio/mp4', extension: 'm4a', channels: 1 },
    ],
    [
      'speech.aac',
      { container: 'adts', codec: 'aac', contentType: 'audio/aac', extension: 'aac', channels: 1 },
    ],
    [
      'speech.mp3',
      { container: 'mpeg', codec: 'mp3', contentType: 'audio/mpeg', extension: 'mp3', channels: 1 },
    ],
    [
      'mpeg2.mp3',
      { container: 'mpeg', codec: 'mp3', contentType: 'audio/mpeg', extension: 'mp3', channels: 1 },
    ],
    [
      'speech.opus',
      { container: 'ogg', codec: 'opus', contentType: 'audio/ogg', extension: 'opus', channels: 1 },
    ],
    [
      'speech.webm',
      { container: 'webm', codec: 'opus', contentType: 'audio/webm', extension: 'webm', channels: 1 },
    ],
    [
      'mediarecorder.webm',
      { container: 'webm', codec: 'opus', contentType: 'audio/webm', extension: 'webm', channels: 1 },
    ],
  ]
  for (const [name, expected] of cases) {
    it(`reads ${name} like ffprobe does`, () => {
      const info = probeAudio(fixture(name))
      expect(info).toMatchObject(expected)
      // ffprobe reports the presentation length (after priming/trimming); the probe counts
      // every frame, so they may differ by an encoder delay (≤ ~50 ms).
      const reference = manifest[name]!.ffprobeDurationMs ?? manifest['speech.opus']!.ffprobeDurationMs!
      expect(Math.abs(info.durationMs - reference)).toBeLessThanOrEqual(50)
      expect(info.audioBytes + info.metadataBytes).toBeLessThanOrEqual(manifest[name]!.bytes)
      expect(info.bitrate / ((info.audioBytes * 8000) / info.durationMs)).toBeCloseTo(1, 2)
    })
  }

  it('times MediaRecorder WebM (no Duration element) from its block timestamps', () => {
    expect(probeAudio(fixture('mediarecorder-125s.webm')).durationMs).toBe(125_040)
  })
})

describe('refused fixtures', () => {
  const cases: [string, string, RegExp][] = [
    ['vorbis.ogg', 'unsupported', /^Vorbis audio is not accepted/],
    ['vorbis.webm', 'unsupported', /^Vorbis audio in WebM is not accepted/],
    ['speech.flac', 'unsupported', /^FLAC audio/],
    ['alac.m4a', 'unsupported', /^Apple Lossless/],
    ['mp2.mp3', 'unsupported', /^MPEG Layer II/],
    ['speech.wav', 'unsupported', /^WAV audio/],
    ['video.mp4', 'unsupported', /^Video is not accepted/],
    ['claims-100s.m4a', 'implausible', /declares 101\.2 s \(its sample table\) but holds 2\.0 s/],
    ['claims-100s.opus', 'implausible', /declares 100\.0 s \(its Ogg granule position\)/],
    ['gap-100s.webm', 'implausible', /declares 100\.0 s \(its block timestamps\)/],
  ]
  for (const [name, problem, message] of cases) {
    it(`refuses ${name} (${problem})`, () => {
      const refused = problemOf(fixture(name))
      expect(refused.problem).toBe(problem)
      expect(refused.message).toMatch(message)
    })
  }

  it('refuses empty files, bare tags and things that are not audio', () => {
    expect(problemOf(new Uint8Array(0)).problem).toBe('no-audio')
    const id3Only = concat(latin1('ID3'), new Uint8Array([4, 0, 0, 0, 0, 0, 10]), new Uint8Array(10))
    expect(problemOf(id3Only).problem).toBe('no-audio')
    expect(problemOf(latin1('%PDF-1.7 not audio')).problem).toBe('not-audio')
    expect(problemOf(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16])).problem).toBe('not-audio')
  })
})

describe('crafted variants', () => {
  it('checks an MP3 Xing header against the frames present', () => {
    const file = fixture('speech.mp3')
    const info = indexOf(file, [...latin1('Info')])
    expect(info).toBeGreaterThan(0)
    const lying = new Uint8Array(file)
    new DataView(lying.buffer).setUint32(info + 8, 4000)
    expect(problemOf(lying)).toMatchObject({
      problem: 'implausible',
      message: expect.stringMatching(/MP3 header/),
    })
  })

  it('counts ID3v1 and APEv2 trailers as metadata, and anything else after the frames as junk', () => {
    const file = fixture('speech.mp3')
    const plain = probeAudio(file)
    const id3v1 = concat(latin1('TAG'), new Uint8Array(125))
    expect(probeAudio(concat(file, id3v1)).metadataBytes).toBe(plain.metadataBytes + 128)
    const apeFooter = concat(latin1('APETAGEX'), new Uint8Array(24))
    new DataView(apeFooter.buffer).setUint32(12, 32 + 16, true)
    expect(probeAudio(concat(file, new Uint8Array(16), apeFooter)).metadataBytes).toBe(
      plain.metadataBytes + 48,
    )
    // A little padding is tolerated; more is not.
    expect(probeAudio(concat(file, new Uint8Array(MAX_JUNK_BYTES))).durationMs).toBe(plain.durationMs)
    expect(problemOf(concat(file, new Uint8Array(MAX_JUNK_BYTES + 1))).message).toMatch(
      /not part of the audio/,
    )
  })

  it('skips zero padding after a leading ID3 tag', () => {
    const file = fixture('speech.mp3')
    const tagSize = 10 + ((file[6]! << 21) | (file[7]! << 14) | (file[8]! << 7) | file[9]!)
    const padded = concat(file.subarray(0, tagSize), new Uint8Array(300), file.subarray(tagSize))
    expect(probeAudio(padded).durationMs).toBe(probeAudio(file).durationMs)
  })

  it('refuses an ADTS stream that changes format midway', () => {
    const file = new Uint8Array(fixture('speech.aac'))
    const second = ((file[3]! & 3) << 11) | (file[4]! << 3) | (file[5]! >> 5)
    file[second + 2] = (file[second + 2]! & ~(0xf << 2)) | (8 << 2) // 16 kHz instead of 44.1
    expect(problemOf(file)).toMatchObject({
      problem: 'corrupt',
      message: expect.stringMatching(/changes format/),
    })
  })

  it('verifies Ogg checksums and requires the final page', () => {
    const file = fixture('speech.opus')
    const damaged = new Uint8Array(file)
    damaged[file.length - 10]! ^= 0xff
    expect(problemOf(damaged)).toMatchObject({
      problem: 'corrupt',
      message: expect.stringMatching(/checksum/),
    })
    let lastPage = -1
    for (
      let at = indexOf(file, [...latin1('OggS')]);
      at >= 0;
      at = indexOf(file, [...latin1('OggS')], at + 1)
    ) {
      lastPage = at
    }
    expect(lastPage).toBeGreaterThan(0)
    expect(problemOf(file.subarray(0, lastPage))).toMatchObject({
      problem: 'truncated',
      message: expect.stringMatching(/last page is missing/),
    })
  })

  it('refuses more than 256 KiB of metadata but accepts a little', () => {
    const file = fixture('speech.m4a')
    const free = (size: number) => {
      const box = new Uint8Array(size)
      new DataView(box.buffer).setUint32(0, size)
      box.set(latin1('free'), 4)
      return box
    }
    expect(probeAudio(concat(file, free(10_000))).metadataBytes).toBe(probeAudio(file).metadataBytes + 10_000)
    expect(problemOf(concat(file, free(MAX_METADATA_BYTES + 1))).message).toMatch(/tags, artwork or padding/)
  })

  it('checks a WebM Duration element against the blocks', () => {
    const file = new Uint8Array(fixture('speech.webm'))
    const at = indexOf(file, [0x44, 0x89, 0x88])
    expect(at).toBeGreaterThan(0)
    new DataView(file.buffer).setFloat64(at + 3, 100_000)
    expect(problemOf(file)).toMatchObject({
      problem: 'implausible',
      message: expect.stringMatching(/Duration header/),
    })
  })

  it('reads laced WebM blocks (Xiph, EBML and fixed-size) frame by frame', () => {
    const packets = opusPackets(fixture('speech.opus')).slice(2)
    const plain = probeAudio(webm(packets.map((p) => ({ lacing: 0, frames: [p] }))))
    for (const lacing of [1, 2, 3] as const) {
      const blocks: { lacing: 0 | 1 | 2 | 3; frames: Uint8Array[] }[] = []
      for (let i = 0; i < packets.length; i += 3) {
        let frames = packets.slice(i, i + 3)
        // Fixed-size lacing needs equal sizes: pad with Opus code-0 frames of the same length.
        if (lacing === 2) frames = frames.map((f) => concat(f, new Uint8Array(400 - f.length)))
        blocks.push({ lacing, frames })
      }
      const info = probeAudio(webm(blocks))
      expect(info.durationMs).toBe(plain.durationMs)
    }
  })
})

describe('size rules', () => {
  it('bounds the bitrate of the audio itself', () => {
    const ok = { durationMs: 100_000, metadataBytes: 0, junkBytes: 0 }
    expect(() => checkPlausibleSize({ ...ok, audioBytes: 2048 })).toThrow(/cannot last 100\.0 s/)
    expect(() => checkPlausibleSize({ ...ok, audioBytes: (MIN_AUDIO_BITRATE * 100) / 8 })).not.toThrow()
    expect(() => checkPlausibleSize({ ...ok, durationMs: 1000, audioBytes: 5_000_000 })).toThrow(
      /cannot last 1\.0 s/,
    )
  })
})

describe('robustness', () => {
  const names = Object.keys(manifest)
  it('answers every cut of every fixture with a verdict, never a crash', () => {
    for (const name of names) {
      const file = fixture(name)
      const step = Math.max(1, Math.floor(file.length / 300))
      for (let cut = 0; cut < file.length; cut += step) verdict(file.subarray(0, cut))
    }
  })

  it('answers damaged copies of every fixture with a verdict, never a crash', () => {
    let seed = 12345
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000
    for (const name of names) {
      const file = fixture(name)
      for (let i = 0; i < 400; i++) {
        const damaged = new Uint8Array(file)
        for (let k = 1 + Math.floor(random() * 4); k > 0; k--) {
          damaged[Math.floor(random() * damaged.length)] = Math.floor(random() * 256)
        }
        verdict(damaged)
      }
    }
  })
})

/** Probe `bytes`, accepting an answer or an AudioProbeError; anything else fails the test. */
function verdict(bytes: Uint8Array) {
  try {
    const info = probeAudio(bytes)
    expect(info.durationMs).toBeGreaterThan(0)
  } catch (err) {
    if (!(err instanceof AudioProbeError)) throw err
  }
}

/** The packets of a single-stream Ogg file. */
function opusPackets(file: Uint8Array): Uint8Array[] {
  const packets: Uint8Array[] = []
  let pending: Uint8Array[] = []
  for (let at = 0; at < file.length;) {
    const segments = file[at + 26]!
    let data = at + 27 + segments
    for (let i = 0; i < segments; i++) {
      const lace = file[at + 27 + i]!
      pending.push(file.subarray(data, data + lace))
      data += lace
      if (lace < 255) {
        packets.push(concat(...pending))
        pending = []
      }
    }
    at = data
  }
  return packets
}

/** A minimal WebM (known sizes, one cluster per block) holding laced blocks of Opus packets. */
function webm(blocks: { lacing: 0 | 1 | 2 | 3; frames: Uint8Array[] }[]): Uint8Array {
  const size = (n: number) => {
    const out = new Uint8Array(8)
    out[0] = 0x01
    new DataView(out.buffer).setUint32(4, n)
    out[3] = Math.floor(n / 2 ** 32)
    return out
  }
  const el = (id: number[], ...body: Uint8Array[]) => {
    const payload = concat(...body)
    return concat(new Uint8Array(id), size(payload.length), payload)
  }
  const uint = (id: number[], v: number) => el(id, new Uint8Array([v >> 8, v & 0xff]))
  const head = opusPackets(fixture('speech.opus'))[0]!
  const parts = [
    el([0x1a, 0x45, 0xdf, 0xa3], el([0x42, 0x82], latin1('webm'))),
    el(
      [0x18, 0x53, 0x80, 0x67],
      el([0x15, 0x49, 0xa9, 0x66], el([0x2a, 0xd7, 0xb1], new Uint8Array([0x0f, 0x42, 0x40]))),
      el(
        [0x16, 0x54, 0xae, 0x6b],
        el([0xae], uint([0xd7], 1), uint([0x83], 2), el([0x86], latin1('A_OPUS')), el([0x63, 0xa2], head)),
      ),
      ...(() => {
        const clusters: Uint8Array[] = []
        let ms = 0
        for (const block of blocks) {
          const { frames, lacing } = block
          let lace = new Uint8Array(0)
          if (lacing === 1) {
            const bytes: number[] = []
            for (const f of frames.slice(0, -1)) {
              let n = f.length
              while (n >= 255) {
                bytes.push(255)
                n -= 255
              }
              bytes.push(n)
            }
            lace = new Uint8Array([frames.length - 1, ...bytes])
          } else if (lacing === 3) {
            // First size as a 2-byte VINT, then signed 2-byte differences (bias 8191).
            const vints: number[] = []
            frames.slice(0, -1).forEach((f, i) => {
              const v = i === 0 ? f.length : f.length - frames[i - 1]!.length + 8191
              vints.push(0x40 | (v >> 8), v & 0xff)
            })
            lace = new Uint8Array([frames.length - 1, ...vints])
          } else if (lacing === 2) {
            lace = new Uint8Array([frames.length - 1])
          }
          const header = new Uint8Array([0x81, 0, 0, 0x80 | (lacing << 1)])
          clusters.push(el([0x1f, 0x43, 0xb6, 0x75], uint([0xe7], ms), el([0xa3], header, lace, ...frames)))
          ms += frames.length * 20
        }
        return clusters
      })(),
    ),
  ]
  return concat(...parts)
}
