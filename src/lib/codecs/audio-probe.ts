import { concatBytes } from './bytes'

/**
 * Identify and vet an uploaded audio file by reading its bytes — container, codec, duration and
 * whether its size makes sense — without decoding it and without ffmpeg.
 *
 * Accepted is what phones and browsers record, and what every current browser and phone can play:
 *
 * | container            | codec                      | typical source                                 |
 * |----------------------|----------------------------|------------------------------------------------|
 * | MP4 / M4A (incl. fragmented) | AAC-LC, HE-AAC v1/v2 | iOS/Android recorders, Safari's MediaRecorder  |
 * | ADTS (raw `.aac`)    | AAC-LC (incl. implicit SBR) | Android recorders                              |
 * | MPEG audio (`.mp3`)  | MPEG-1/2/2.5 Layer III     | recorder apps, editors                         |
 * | Ogg                  | Opus                       | Android, WhatsApp-style voice notes, Firefox   |
 * | WebM                 | Opus                       | Chrome's and Firefox's MediaRecorder           |
 *
 * Everything else is refused by name (Vorbis, FLAC, ALAC, WAV, AMR, MP2, video …). Mono or stereo
 * only. Why a hand-written parser rather than `music-metadata`: that library needs all of its
 * parsers (≈ 73 KiB gzipped, a quarter of the Worker), still has no duration for MediaRecorder
 * WebM (which has no Duration element) and reads headers rather than walking every frame, so it
 * cannot tell a file whose header lies from one that is honest. Walking the frames here is what
 * makes the duration trustworthy and the junk detectable, in a few kilobytes.
 *
 * Every parser walks the whole file: each frame, page, block or sample range must be inside the
 * file (else "truncated") and well-formed (else "corrupt"). The duration is derived from the audio
 * itself (frame counts × frame length, Opus packet TOCs) and every duration the file *declares*
 * (MP4 sample tables and headers, Xing/VBRI headers, Ogg granule positions, WebM timestamps and
 * Duration) must agree with it. Then {@link checkPlausibleSize} applies the size rules.
 */

/** The file's container. */
export type AudioContainer = 'mp4' | 'adts' | 'mpeg' | 'ogg' | 'webm'
/** The file's codec: only these are accepted. */
export type AudioCodec = 'aac' | 'mp3' | 'opus'
/** The object-key extension for each accepted container. */
export type AudioExtension = 'm4a' | 'aac' | 'mp3' | 'opus' | 'webm'

export interface AudioInfo {
  container: AudioContainer
  codec: AudioCodec
  /** The media type to store and serve the file with (never the client's Content-Type). */
  contentType: 'audio/mp4' | 'audio/aac' | 'audio/mpeg' | 'audio/ogg' | 'audio/webm'
  /** `.opus` for Ogg Opus, as RFC 7845 recommends. */
  extension: AudioExtension
  durationMs: number
  sampleRate: number
  channels: 1 | 2
  /** Bytes of encoded audio (frames / packets), without container framing or metadata. */
  audioBytes: number
  /** Bytes of tags, artwork, padding and other non-audio structures the container declares. */
  metadataBytes: number
  /** Average bitrate of the encoded audio, bits per second. */
  bitrate: number
}

/**
 * Why a file was refused. `not-audio` and `unsupported` are about *what* the file is (answer
 * 415); the rest are about a file of an accepted kind that is broken or lies (answer 422).
 */
export type AudioProblem = 'not-audio' | 'unsupported' | 'truncated' | 'corrupt' | 'implausible' | 'no-audio'

export class AudioProbeError extends Error {
  constructor(
    readonly problem: AudioProblem,
    message: string,
  ) {
    super(message)
    this.name = 'AudioProbeError'
  }
}

// ---------------------------------------------------------------------------------------------
// The size rules, applied once a file has parsed. They catch files that are structurally valid
// but whose size cannot be explained by the audio they hold.

/**
 * Bytes that belong to no structure of the container, e.g. something appended after the last
 * frame. A little is tolerated (some tools pad the end of a file); megabytes of junk behind a
 * one-second recording are not.
 */
export const MAX_JUNK_BYTES = 1024
/**
 * Tags, cover art, padding, seek tables and unknown boxes/elements together. Generous for real
 * tags (a voice memo carries a few hundred bytes), small enough that a voice bio cannot be a
 * carrier for a big image or arbitrary data.
 */
export const MAX_METADATA_BYTES = 256 * 1024
/**
 * The lowest average bitrate of the encoded audio that a real recording has. Opus' lowest mode is
 * 6 kbit/s and even silence costs a few bytes per 20 ms frame, so 1 kbit/s leaves a wide margin;
 * a header claiming 100 s on a 2 KB file is 160 bit/s.
 */
export const MIN_AUDIO_BITRATE = 1_000
/**
 * The highest: AAC-LC stereo at 48 kHz tops out at 576 kbit/s (6144 bits per channel per 1024
 * samples), Opus at 510 kbit/s, MP3 at 320 kbit/s.
 */
export const MAX_AUDIO_BITRATE = 640_000
/**
 * How far a duration the file declares may differ from the duration of the audio it holds:
 * encoder priming and padding (≤ ~50 ms), end trimming (≤ 120 ms for Opus) and recorder clock
 * jitter stay well inside it; a header claiming 100 s on 2 s of audio does not.
 */
const claimTolerance = (contentMs: number) => Math.max(500, contentMs * 0.05)

interface Parsed {
  container: AudioContainer
  codec: AudioCodec
  durationMs: number
  sampleRate: number
  channels: number
  audioBytes: number
  metadataBytes: number
  junkBytes: number
}

/**
 * Reject a parsed file whose byte count the audio cannot explain (see the constants above).
 *
 * @example
 * checkPlausibleSize({ audioBytes: 2048, durationMs: 100_000, metadataBytes: 0, junkBytes: 0 }) // throws 'implausible'
 */
export function checkPlausibleSize(p: {
  audioBytes: number
  durationMs: number
  metadataBytes: number
  junkBytes: number
}): void {
  if (p.junkBytes > MAX_JUNK_BYTES) {
    throw new AudioProbeError(
      'implausible',
      `${formatBytes(p.junkBytes)} of the file is not part of the audio (junk, or a damaged file)`,
    )
  }
  if (p.metadataBytes > MAX_METADATA_BYTES) {
    throw new AudioProbeError(
      'implausible',
      `The file carries ${formatBytes(p.metadataBytes)} of tags, artwork or padding; at most ${formatBytes(MAX_METADATA_BYTES)} is allowed`,
    )
  }
  const bitrate = (p.audioBytes * 8000) / p.durationMs
  if (bitrate < MIN_AUDIO_BITRATE || bitrate > MAX_AUDIO_BITRATE) {
    throw new AudioProbeError(
      'implausible',
      `${formatBytes(p.audioBytes)} of audio cannot last ${formatSeconds(p.durationMs)} ` +
        `(${Math.round(bitrate)} bit/s; recordings are between ${MIN_AUDIO_BITRATE} and ${MAX_AUDIO_BITRATE} bit/s)`,
    )
  }
}

/**
 * Identify and vet `bytes` as one of the accepted audio formats; throws {@link AudioProbeError}.
 *
 * @example
 * const info = probeAudio(new Uint8Array(await request.arrayBuffer()))
 * // → { container: 'webm', codec: 'opus', contentType: 'audio/webm', extension: 'webm', durationMs: 2020, … }
 */
export function probeAudio(bytes: Uint8Array): AudioInfo {
  if (bytes.length === 0) throw new AudioProbeError('no-audio', 'The file is empty')
  const parsed = parse(bytes)
  if (parsed.durationMs <= 0 || parsed.audioBytes === 0) {
    throw new AudioProbeError('no-audio', 'The file contains no audio')
  }
  if (parsed.channels !== 1 && parsed.channels !== 2) {
    throw new AudioProbeError(
      'unsupported',
      `Only mono or stereo audio is accepted (this has ${parsed.channels} channels)`,
    )
  }
  checkPlausibleSize(parsed)
  const kind = kinds[parsed.container]
  return {
    container: parsed.container,
    codec: parsed.codec,
    contentType: kind.contentType,
    extension: kind.extension,
    durationMs: Math.round(parsed.durationMs),
    sampleRate: parsed.sampleRate,
    channels: parsed.channels,
    audioBytes: parsed.audioBytes,
    metadataBytes: parsed.metadataBytes,
    bitrate: Math.round((parsed.audioBytes * 8000) / parsed.durationMs),
  }
}

const kinds = {
  mp4: { contentType: 'audio/mp4', extension: 'm4a' },
  adts: { contentType: 'audio/aac', extension: 'aac' },
  mpeg: { contentType: 'audio/mpeg', extension: 'mp3' },
  ogg: { contentType: 'audio/ogg', extension: 'opus' },
  webm: { contentType: 'audio/webm', extension: 'webm' },
} as const satisfies Record<
  AudioContainer,
  { contentType: AudioInfo['contentType']; extension: AudioExtension }
>

const accepted = 'AAC (.m4a or .aac), MP3, or Opus (.ogg, .opus or .webm)'

function parse(b: Uint8Array): Parsed {
  // An ID3v2 tag may precede MP3 and ADTS streams (and, wrongly, other formats).
  let start = 0
  let tags = 0
  for (let tag = id3v2Length(b, start); tag > 0; tag = id3v2Length(b, start)) {
    start += tag
    tags += tag
  }
  // Some taggers pad after the tag's declared size.
  while (tags > 0 && start < b.length && b[start] === 0) {
    start++
    tags++
  }
  if (start === 0 && ascii(b, 4, 4) === 'ftyp') return parseMp4(b)
  if (start === 0 && ascii(b, 0, 4) === 'OggS') return parseOgg(b)
  if (start === 0 && u32(b, 0) === 0x1a45dfa3) return parseWebm(b)
  if (b[start] === 0xff && start + 1 < b.length) {
    // 12 sync bits with layer 00 is ADTS; 11 sync bits and any other layer is MPEG audio.
    if ((b[start + 1]! & 0xf6) === 0xf0) return parseAdts(b, start, tags)
    if ((b[start + 1]! & 0xe0) === 0xe0) return parseMpeg(b, start, tags)
  }
  const refused = refusedFormat(b, start)
  if (refused) throw new AudioProbeError('unsupported', `${refused} is not accepted; upload ${accepted}`)
  if (tags > 0 && start === b.length) throw new AudioProbeError('no-audio', 'The file holds only an ID3 tag')
  throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
}

/** Formats that are recognisably audio (or video) but not accepted, to name them in the error. */
function refusedFormat(b: Uint8Array, at: number): string | undefined {
  const four = ascii(b, at, 4)
  if (four === 'fLaC') return 'FLAC audio'
  if (four === 'RIFF' && ascii(b, at + 8, 4) === 'WAVE') return 'WAV audio'
  if (four === 'RIFF' && ascii(b, at + 8, 4) === 'AVI ') return 'AVI video'
  if (four === 'FORM' && /^AIF[FC]$/.test(ascii(b, at + 8, 4))) return 'AIFF audio'
  if (ascii(b, at, 5) === '#!AMR') return 'AMR audio'
  if (four === 'caff') return 'Core Audio (CAF)'
  if (four === 'MThd') return 'MIDI'
  if (u32(b, at) === 0x3026b275) return 'Windows Media (ASF/WMA)'
  if (four === 'wvpk') return 'WavPack audio'
  if (four === 'MAC ') return "Monkey's Audio"
  return undefined
}

// ---------------------------------------------------------------------------------------------
// Byte helpers. Every read is bounds-checked by the caller's structure checks; these return 0 /
// '' past the end so a sniff on a tiny file cannot throw a RangeError.

const ascii = (b: Uint8Array, at: number, length: number) =>
  at + length > b.length ? '' : String.fromCharCode(...b.subarray(at, at + length))
const u16 = (b: Uint8Array, at: number) => (at + 2 > b.length ? 0 : (b[at]! << 8) | b[at + 1]!)
const u32 = (b: Uint8Array, at: number) =>
  at + 4 > b.length ? 0 : ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0
const u32le = (b: Uint8Array, at: number) =>
  at + 4 > b.length ? 0 : (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0
/** Unsigned 64-bit big-endian as a number; beyond 2^53 it is corrupt for any file we accept. */
function u64(b: Uint8Array, at: number): number {
  const value = u32(b, at) * 2 ** 32 + u32(b, at + 4)
  if (!Number.isSafeInteger(value)) throw corrupt('a 64-bit field is out of range')
  return value
}

const truncated = (what: string) =>
  new AudioProbeError('truncated', `The file is truncated: ${what} runs past its end`)
const corrupt = (what: string) => new AudioProbeError('corrupt', `The file is damaged: ${what}`)

function checkClaim(label: string, claimedMs: number, contentMs: number): void {
  if (Math.abs(claimedMs - contentMs) > claimTolerance(contentMs)) {
    throw new AudioProbeError(
      'implausible',
      `The file declares ${formatSeconds(claimedMs)} (its ${label}) but holds ${formatSeconds(contentMs)} of audio`,
    )
  }
}

/** "12.3 s" */
export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} bytes`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

// ---------------------------------------------------------------------------------------------
// ID3 and other tags around MP3 / ADTS streams.

/** Length of an ID3v2 tag starting at `at` (header, body and footer), or 0 when there is none. */
function id3v2Length(b: Uint8Array, at: number): number {
  if (ascii(b, at, 3) !== 'ID3') return 0
  if (at + 10 > b.length) throw truncated('the ID3 tag')
  const sizeBytes = b.subarray(at + 6, at + 10)
  if (b[at + 3] === 0xff || b[at + 4] === 0xff || sizeBytes.some((x) => x >= 0x80)) {
    throw corrupt('the ID3 tag header is invalid')
  }
  const size = (sizeBytes[0]! << 21) | (sizeBytes[1]! << 14) | (sizeBytes[2]! << 7) | sizeBytes[3]!
  const total = 10 + size + (b[at + 5]! & 0x10 ? 10 : 0)
  if (at + total > b.length) throw truncated('the ID3 tag')
  return total
}

/**
 * After the last frame of an MP3/ADTS stream: ID3v2 tags, then from the end of the file ID3v1,
 * APEv2 and Lyrics3v2 tags. Returns the bytes those tags take and the bytes nothing explains.
 */
function trailingTags(b: Uint8Array, at: number): { metadataBytes: number; junkBytes: number } {
  let metadataBytes = 0
  for (let tag = id3v2Length(b, at); tag > 0; tag = id3v2Length(b, at)) {
    at += tag
    metadataBytes += tag
  }
  let end = b.length
  for (;;) {
    if (end - at >= 128 && ascii(b, end - 128, 3) === 'TAG') {
      end -= 128
      metadataBytes += 128
    } else if (end - at >= 32 && ascii(b, end - 32, 8) === 'APETAGEX') {
      const size = u32le(b, end - 32 + 12) + (u32le(b, end - 32 + 20) & 0x80000000 ? 32 : 0)
      if (size > end - at || size < 32) break
      end -= size
      metadataBytes += size
    } else if (end - at >= 15 && ascii(b, end - 9, 9) === 'LYRICS200') {
      const size = Number(ascii(b, end - 15, 6)) + 15
      if (!Number.isInteger(size) || size > end - at) break
      end -= size
      metadataBytes += size
    } else {
      break
    }
  }
  return { metadataBytes, junkBytes: end - at }
}

// ---------------------------------------------------------------------------------------------
// ADTS (raw AAC): a sequence of self-describing frames.

const aacSampleRates = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
]
/** An AAC frame carries at most 6144 bits per channel (ISO/IEC 14496-3, 4.5.3.1). */
const maxAacFrameBytes = (channels: number) => 768 * channels

function parseAdts(b: Uint8Array, start: number, leadingTags: number): Parsed {
  let at = start
  let frames = 0
  let samples = 0
  let audioBytes = 0
  let format: { profile: number; rateIndex: number; channels: number } | undefined
  while (at + 2 <= b.length && b[at] === 0xff && (b[at + 1]! & 0xf6) === 0xf0) {
    if (at + 7 > b.length) throw truncated('the last AAC frame')
    const headerLength = b[at + 1]! & 1 ? 7 : 9
    const profile = b[at + 2]! >> 6
    const rateIndex = (b[at + 2]! >> 2) & 0xf
    const channels = ((b[at + 2]! & 1) << 2) | (b[at + 3]! >> 6)
    const frameLength = ((b[at + 3]! & 3) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5)
    const blocks = (b[at + 6]! & 3) + 1
    if (!format) {
      // ADTS' 2-bit profile is the object type minus one: 1 = AAC-LC (HE-AAC is signalled as LC).
      if (profile !== 1) {
        const name = ['AAC Main', 'AAC-LC', 'AAC SSR', 'AAC LTP'][profile]
        throw new AudioProbeError('unsupported', `${name} is not accepted; only AAC-LC and HE-AAC are`)
      }
      if (rateIndex >= aacSampleRates.length) throw corrupt('the AAC sample rate is invalid')
      if (channels === 0 || channels > 2) {
        throw new AudioProbeError('unsupported', 'Only mono or stereo audio is accepted')
      }
      format = { profile, rateIndex, channels }
    } else if (profile !== format.profile || rateIndex !== format.rateIndex || channels !== format.channels) {
      throw corrupt(`the AAC stream changes format at byte ${at}`)
    }
    if (frameLength < headerLength) throw corrupt(`invalid AAC frame at byte ${at}`)
    if (at + frameLength > b.length) throw truncated('the last AAC frame')
    if (frameLength - headerLength > maxAacFrameBytes(channels) * blocks) {
      throw corrupt(`an AAC frame at byte ${at} is larger than AAC allows`)
    }
    frames++
    samples += 1024 * blocks
    audioBytes += frameLength - headerLength
    at += frameLength
  }
  if (!format)
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
  const trailer = trailingTags(b, at)
  if (frames === 1 && trailer.junkBytes > 0) {
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
  }
  const sampleRate = aacSampleRates[format.rateIndex]!
  return {
    container: 'adts',
    codec: 'aac',
    durationMs: (samples * 1000) / sampleRate,
    sampleRate,
    channels: format.channels,
    audioBytes,
    metadataBytes: leadingTags + trailer.metadataBytes,
    junkBytes: trailer.junkBytes,
  }
}

// ---------------------------------------------------------------------------------------------
// MPEG audio (MP3): frames whose length follows from their header.

const mp3Bitrates = {
  mpeg1: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  mpeg2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
}
const mpegSampleRates: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
}

interface MpegFrame {
  version: number
  layer: number
  sampleRate: number
  mono: boolean
  length: number
  samples: number
  sideInfo: number
}

/** The MPEG audio frame header at `at`, or undefined when there is none. */
function mpegFrame(b: Uint8Array, at: number): MpegFrame | undefined {
  if (at + 4 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xe0) !== 0xe0) return undefined
  const version = (b[at + 1]! >> 3) & 3
  const layerBits = (b[at + 1]! >> 1) & 3
  const bitrateIndex = b[at + 2]! >> 4
  const rateIndex = (b[at + 2]! >> 2) & 3
  if (version === 1 || layerBits === 0 || bitrateIndex === 15 || rateIndex === 3) return undefined
  const layer = 4 - layerBits
  const sampleRate = mpegSampleRates[version]![rateIndex]!
  const mono = b[at + 3]! >> 6 === 3
  if (layer !== 3) {
    return { version, layer, sampleRate, mono, length: 0, samples: 0, sideInfo: 0 }
  }
  const mpeg1 = version === 3
  const kbps = (mpeg1 ? mp3Bitrates.mpeg1 : mp3Bitrates.mpeg2)[bitrateIndex]!
  const padding = (b[at + 2]! >> 1) & 1
  const length = kbps === 0 ? 0 : Math.floor(((mpeg1 ? 144000 : 72000) * kbps) / sampleRate) + padding
  const sideInfo = mpeg1 ? (mono ? 17 : 32) : mono ? 9 : 17
  return { version, layer, sampleRate, mono, length, samples: mpeg1 ? 1152 : 576, sideInfo }
}

function parseMpeg(b: Uint8Array, start: number, leadingTags: number): Parsed {
  const first = mpegFrame(b, start)
  if (!first)
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
  if (first.layer !== 3) {
    throw new AudioProbeError(
      'unsupported',
      `MPEG Layer ${first.layer === 2 ? 'II (MP2)' : 'I'} audio is not accepted; upload ${accepted}`,
    )
  }
  if (first.length === 0) throw new AudioProbeError('unsupported', 'Free-format MP3 is not accepted')
  // A frame followed by garbage is more likely a coincidental 0xFFE bit pattern than MP3.
  const next = start + first.length
  if (next + 4 <= b.length && !mpegFrame(b, next) && !['TAG', 'ID3', 'APE'].includes(ascii(b, next, 3))) {
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
  }

  let at = start
  let frames = 0
  let audioBytes = 0
  let metadataBytes = leadingTags
  let claimedFrames: number | undefined
  while (at < b.length) {
    const frame = mpegFrame(b, at)
    if (!frame) break
    if (frame.layer !== 3 || frame.version !== first.version || frame.sampleRate !== first.sampleRate) {
      throw corrupt(`the MP3 stream changes format at byte ${at}`)
    }
    if (frame.length === 0) throw corrupt(`free-format frame at byte ${at}`)
    if (at + frame.length > b.length) throw truncated('the last MP3 frame')
    if (at === start) {
      // The first frame may be a Xing/Info (LAME) or VBRI header: a frame with no audio whose
      // frame count is a claim to check against the frames actually present.
      const xing = at + 4 + frame.sideInfo
      const tag = ascii(b, xing, 4)
      if (tag === 'Xing' || tag === 'Info') {
        if (u32(b, xing + 4) & 1) claimedFrames = u32(b, xing + 8)
        metadataBytes += frame.length
        at += frame.length
        continue
      }
      if (ascii(b, at + 36, 4) === 'VBRI') {
        claimedFrames = u32(b, at + 36 + 14)
        metadataBytes += frame.length
        at += frame.length
        continue
      }
    }
    if (frame.mono !== first.mono) throw corrupt(`the MP3 stream changes channels at byte ${at}`)
    frames++
    audioBytes += frame.length - 4
    at += frame.length
  }
  const trailer = trailingTags(b, at)
  const durationMs = (frames * first.samples * 1000) / first.sampleRate
  if (claimedFrames !== undefined) {
    checkClaim('MP3 header', (claimedFrames * first.samples * 1000) / first.sampleRate, durationMs)
  }
  return {
    container: 'mpeg',
    codec: 'mp3',
    durationMs,
    sampleRate: first.sampleRate,
    channels: first.mono ? 1 : 2,
    audioBytes,
    metadataBytes: metadataBytes + trailer.metadataBytes,
    junkBytes: trailer.junkBytes,
  }
}

// ---------------------------------------------------------------------------------------------
// Opus packets (RFC 6716 §3.1): the TOC byte gives each packet's duration exactly.

/** Samples at 48 kHz per frame for each of the 32 TOC configurations. */
const opusFrameSamples = (config: number) =>
  config < 12
    ? [480, 960, 1920, 2880][config & 3]!
    : config < 16
      ? [480, 960][config & 1]!
      : [120, 240, 480, 960][config & 3]!

/** The duration of one Opus packet in 48 kHz samples; throws when the packet is malformed. */
function opusPacketSamples(p: Uint8Array): number {
  if (p.length === 0) throw corrupt('an Opus packet is empty')
  const frameSamples = opusFrameSamples(p[0]! >> 3)
  const code = p[0]! & 3
  let frames: number
  if (code === 0) {
    frames = 1
    if (p.length - 1 > 1275) throw corrupt('an Opus frame is larger than Opus allows')
  } else if (code === 1) {
    frames = 2
    if ((p.length - 1) % 2 !== 0 || (p.length - 1) / 2 > 1275)
      throw corrupt('an Opus packet has unequal frames')
  } else if (code === 2) {
    frames = 2
    if (p.length < 2) throw corrupt('an Opus packet is cut short')
    const first = p[1]! < 252 ? p[1]! : p.length < 3 ? -1 : p[1]! + 4 * p[2]!
    const header = p[1]! < 252 ? 2 : 3
    if (first < 0 || header + first > p.length || first > 1275 || p.length - header - first > 1275) {
      throw corrupt('an Opus packet has invalid frame lengths')
    }
  } else {
    if (p.length < 2) throw corrupt('an Opus packet is cut short')
    frames = p[1]! & 0x3f
    if (frames === 0) throw corrupt('an Opus packet has no frames')
  }
  const samples = frames * frameSamples
  if (samples > 5760) throw corrupt('an Opus packet is longer than 120 ms')
  return samples
}

interface OpusHead {
  channels: number
  preSkip: number
}

/** The Opus identification header (RFC 7845 §5.1), as found in Ogg and in WebM's CodecPrivate. */
function opusHead(p: Uint8Array): OpusHead {
  if (p.length < 19 || ascii(p, 0, 8) !== 'OpusHead') throw corrupt('the Opus header is invalid')
  if (p[8]! >> 4 !== 0)
    throw new AudioProbeError('unsupported', `Opus header version ${p[8]} is not supported`)
  const channels = p[9]!
  const mapping = p[18]!
  if (channels === 0) throw corrupt('the Opus header declares no channels')
  if (mapping !== 0 || channels > 2) {
    throw new AudioProbeError('unsupported', 'Only mono or stereo audio is accepted')
  }
  return { channels, preSkip: p[10]! | (p[11]! << 8) }
}

// ---------------------------------------------------------------------------------------------
// Ogg (RFC 3533) carrying Opus (RFC 7845).

// Int32 entries keep the CRC loop in small-integer arithmetic (a Uint32Array makes V8 use doubles).
const oggCrcTable = (() => {
  const table = new Int32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1
    table[i] = r
  }
  return table
})()

/** Ogg's CRC-32 of a page, computed as if its checksum field (bytes 22–25) were zero. */
function oggPageCrc(b: Uint8Array, start: number, end: number): number {
  const table = oggCrcTable
  let crc = 0
  for (let i = start; i < start + 22; i++) crc = (crc << 8) ^ table[((crc >>> 24) ^ b[i]!) & 0xff]!
  for (let i = 0; i < 4; i++) crc = (crc << 8) ^ table[(crc >>> 24) & 0xff]!
  for (let i = start + 26; i < end; i++) crc = (crc << 8) ^ table[((crc >>> 24) ^ b[i]!) & 0xff]!
  return crc >>> 0
}

function oggCodecName(p: Uint8Array): string {
  if (ascii(p, 1, 6) === 'vorbis') return 'Vorbis audio'
  if (ascii(p, 1, 4) === 'FLAC') return 'FLAC audio'
  if (ascii(p, 0, 8) === 'Speex   ') return 'Speex audio'
  if (ascii(p, 1, 6) === 'theora') return 'Theora video'
  return 'This Ogg codec'
}

function parseOgg(b: Uint8Array): Parsed {
  let at = 0
  let pageIndex = 0
  let serial = 0
  let lastGranule = -1
  let ended = false
  let pending: Uint8Array[] = []
  const packets: { index: number; data: Uint8Array }[] = []
  let head: OpusHead | undefined
  let metadataBytes = 0
  let audioBytes = 0
  let samples = 0

  const takePacket = (data: Uint8Array) => {
    const index = packets.length
    packets.push({ index, data })
    if (index === 0) {
      if (ascii(data, 0, 8) !== 'OpusHead') {
        throw new AudioProbeError('unsupported', `${oggCodecName(data)} is not accepted; upload ${accepted}`)
      }
      head = opusHead(data)
      metadataBytes += data.length
    } else if (index === 1) {
      if (ascii(data, 0, 8) !== 'OpusTags') throw corrupt('the Opus tags header is missing')
      metadataBytes += data.length
    } else {
      samples += opusPacketSamples(data)
      audioBytes += data.length
    }
  }

  while (at < b.length && !ended) {
    if (ascii(b, at, 4) !== 'OggS') {
      if (b.length - at < 4 && ascii(b, at, b.length - at) === 'OggS'.slice(0, b.length - at)) {
        throw truncated('the last Ogg page')
      }
      break
    }
    if (at + 27 > b.length) throw truncated('the last Ogg page')
    if (b[at + 4] !== 0) throw corrupt(`unknown Ogg version at byte ${at}`)
    const flags = b[at + 5]!
    const granuleHigh = u32le(b, at + 10)
    const granule = granuleHigh === 0xffffffff ? -1 : granuleHigh * 2 ** 32 + u32le(b, at + 6)
    const pageSerial = u32le(b, at + 14)
    const sequence = u32le(b, at + 18)
    const segments = b[at + 26]!
    if (at + 27 + segments > b.length) throw truncated('the last Ogg page')
    let bodyLength = 0
    for (let i = 0; i < segments; i++) bodyLength += b[at + 27 + i]!
    const end = at + 27 + segments + bodyLength
    if (end > b.length) throw truncated('the last Ogg page')
    if (oggPageCrc(b, at, end) !== u32le(b, at + 22))
      throw corrupt(`Ogg page ${pageIndex} fails its checksum`)
    if (pageIndex === 0) {
      if (!(flags & 0x02)) throw corrupt('the first Ogg page does not start a stream')
      serial = pageSerial
    } else {
      if (pageSerial !== serial || flags & 0x02) {
        throw new AudioProbeError('unsupported', 'Ogg files with more than one stream are not accepted')
      }
      if (sequence !== pageIndex) throw corrupt(`Ogg page ${pageIndex} is missing`)
    }
    if (Boolean(flags & 0x01) !== pending.length > 0) throw corrupt(`Ogg page ${pageIndex} breaks a packet`)

    let data = at + 27 + segments
    for (let i = 0; i < segments; i++) {
      const lace = b[at + 27 + i]!
      pending.push(b.subarray(data, data + lace))
      data += lace
      if (lace < 255) {
        takePacket(pending.length === 1 ? pending[0]! : concatBytes(pending))
        pending = []
      }
    }
    if (pageIndex === 0 && (packets.length !== 1 || pending.length > 0)) {
      throw corrupt('the Opus header must be alone on the first Ogg page')
    }
    if (granule !== -1) lastGranule = granule
    ended = Boolean(flags & 0x04)
    at = end
    pageIndex++
  }
  if (!head)
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)
  if (!ended) {
    // Either the file stops where a page should start, or it goes on with something else.
    if (at === b.length) throw truncated('the Ogg stream (its last page is missing)')
    throw corrupt(`the data at byte ${at} is not an Ogg page`)
  }
  if (pending.length > 0) throw truncated('the last Opus packet')
  const contentMs = ((samples - head.preSkip) * 1000) / 48000
  const claimedMs = ((lastGranule - head.preSkip) * 1000) / 48000
  checkClaim('Ogg granule position', claimedMs, contentMs)
  return {
    container: 'ogg',
    codec: 'opus',
    // The granule position trims the encoder's end padding; it is what players show.
    durationMs: Math.max(0, Math.min(claimedMs, contentMs)),
    sampleRate: 48000,
    channels: head.channels,
    audioBytes,
    metadataBytes,
    junkBytes: b.length - at,
  }
}

// ---------------------------------------------------------------------------------------------
// WebM (Matroska subset) carrying Opus. MediaRecorder streams it as it records, so the Segment
// and every Cluster have "unknown" sizes and there is no Duration: the duration is the end of the
// last block on the timeline (cluster timecode + block timecode + the block's Opus duration).

const ebml = {
  header: 0x1a45dfa3,
  docType: 0x4282,
  docTypeReadVersion: 0x4285,
  segment: 0x18538067,
  info: 0x1549a966,
  timecodeScale: 0x2ad7b1,
  duration: 0x4489,
  tracks: 0x1654ae6b,
  trackEntry: 0xae,
  trackNumber: 0xd7,
  trackType: 0x83,
  codecId: 0x86,
  codecPrivate: 0x63a2,
  cluster: 0x1f43b675,
  timecode: 0xe7,
  simpleBlock: 0xa3,
  blockGroup: 0xa0,
  block: 0xa1,
} as const

/** Children a Cluster may hold; anything else ends a Cluster of unknown size. */
const clusterChildren = new Set([
  ebml.timecode,
  ebml.simpleBlock,
  ebml.blockGroup,
  0xa7, // Position
  0xab, // PrevSize
  0x5854, // SilentTracks
  0xaf, // EncryptedBlock
  0xec, // Void
  0xbf, // CRC-32
])

interface Element {
  id: number
  /** Start of the element's data. */
  data: number
  /** End of the element's data; for unknown sizes, the end of its parent. */
  end: number
  unknownSize: boolean
}

/** An EBML variable-length integer: the value, or with `keepMarker` the raw ID. */
function vint(b: Uint8Array, at: number, limit: number, keepMarker: boolean) {
  const first = b[at]
  if (at >= limit || first === undefined) throw truncated('a WebM element')
  const length = Math.clz32(first) - 23
  if (length > 8 || (keepMarker && length > 4)) throw corrupt(`invalid WebM element at byte ${at}`)
  if (at + length > limit) throw truncated('a WebM element')
  let value = keepMarker ? first : first & (0xff >> length)
  let allOnes = value === 0xff >> length
  for (let i = 1; i < length; i++) {
    value = value * 256 + b[at + i]!
    allOnes &&= b[at + i] === 0xff
  }
  return { value, length, allOnes }
}

function element(b: Uint8Array, at: number, parentEnd: number): Element {
  const id = vint(b, at, parentEnd, true)
  const size = vint(b, at + id.length, parentEnd, false)
  const data = at + id.length + size.length
  if (size.allOnes) return { id: id.value, data, end: parentEnd, unknownSize: true }
  const end = data + size.value
  if (end > parentEnd) {
    if (end > b.length) throw truncated('a WebM element')
    throw corrupt(`a WebM element at byte ${at} overflows its parent`)
  }
  return { id: id.value, data, end, unknownSize: false }
}

function ebmlUint(b: Uint8Array, e: Element): number {
  if (e.end - e.data > 8) throw corrupt('a WebM integer is too long')
  let value = 0
  for (let i = e.data; i < e.end; i++) value = value * 256 + b[i]!
  return value
}

function ebmlFloat(b: Uint8Array, e: Element): number {
  const view = new DataView(b.buffer, b.byteOffset + e.data, e.end - e.data)
  if (e.end - e.data === 4) return view.getFloat32(0)
  if (e.end - e.data === 8) return view.getFloat64(0)
  if (e.end === e.data) return 0
  throw corrupt('a WebM float has an invalid size')
}

function* children(b: Uint8Array, parent: Element): Generator<Element> {
  for (let at = parent.data; at < parent.end;) {
    const child = element(b, at, parent.end)
    if (child.unknownSize) throw corrupt(`a WebM element of unknown size at byte ${at}`)
    yield child
    at = child.end
  }
}

interface WebmTrack {
  number: number
  type: number
  codec: string
  codecPrivate?: Uint8Array
}

function parseWebm(b: Uint8Array): Parsed {
  const header = element(b, 0, b.length)
  let docType = 'matroska'
  for (const e of children(b, header)) {
    if (e.id === ebml.docType) docType = ascii(b, e.data, e.end - e.data).replace(/\0+$/, '')
  }
  if (docType === 'matroska') {
    throw new AudioProbeError('unsupported', `Matroska (.mkv) files are not accepted; upload ${accepted}`)
  }
  if (docType !== 'webm')
    throw new AudioProbeError('not-audio', `The file is not audio in a format we accept (${accepted})`)

  let metadataBytes = header.end
  let at = header.end
  // Void elements may sit between the header and the Segment.
  while (at < b.length) {
    const e = element(b, at, b.length)
    if (e.id === ebml.segment) break
    if (e.unknownSize || e.id !== 0xec) throw corrupt(`unexpected data at byte ${at}`)
    metadataBytes += e.end - at
    at = e.end
  }
  const segment = element(b, at, b.length)
  if (segment.id !== ebml.segment) throw truncated('the WebM segment')
  metadataBytes += segment.data - at

  let timecodeScale = 1_000_000
  let declaredDuration: number | undefined
  const tracks: WebmTrack[] = []
  let audioBytes = 0
  let samples = 0
  let blocks = 0
  let firstStart = Infinity
  let lastEnd = -Infinity
  let track: WebmTrack | undefined
  let head: OpusHead | undefined

  const readBlock = (start: number, end: number, clusterTime: number | undefined) => {
    if (!track || !head) throw corrupt('audio blocks come before the track list')
    if (clusterTime === undefined) throw corrupt('a WebM cluster has no timecode')
    const number = vint(b, start, end, false)
    if (number.value !== track.number) throw corrupt(`a block belongs to unknown track ${number.value}`)
    let at = start + number.length
    if (at + 3 > end) throw truncated('a WebM block')
    const relative = (u16(b, at) << 16) >> 16
    const lacing = (b[at + 2]! >> 1) & 3
    at += 3
    const sizes: number[] = []
    if (lacing === 0) {
      sizes.push(end - at)
    } else {
      if (at >= end) throw truncated('a WebM block')
      const count = b[at++]! + 1
      if (lacing === 2) {
        if ((end - at) % count !== 0) throw corrupt('a WebM block has uneven fixed-size lacing')
        for (let i = 0; i < count; i++) sizes.push((end - at) / count)
      } else {
        let total = 0
        for (let i = 0; i < count - 1; i++) {
          let size = 0
          if (lacing === 1) {
            let byte: number
            do {
              if (at >= end) throw truncated('a WebM block')
              byte = b[at++]!
              size += byte
            } while (byte === 255)
          } else {
            const v = vint(b, at, end, false)
            at += v.length
            // EBML lacing: the first size, then signed differences (value − bias).
            size = i === 0 ? v.value : sizes[i - 1]! + v.value - (2 ** (7 * v.length - 1) - 1)
          }
          if (size < 0) throw corrupt('a WebM block has an invalid lace')
          sizes.push(size)
          total += size
        }
        if (total > end - at) throw corrupt('a WebM block has an invalid lace')
        sizes.push(end - at - total)
      }
    }
    let blockSamples = 0
    for (const size of sizes) {
      blockSamples += opusPacketSamples(b.subarray(at, at + size))
      audioBytes += size
      at += size
    }
    const startMs = ((clusterTime + relative) * timecodeScale) / 1e6
    firstStart = Math.min(firstStart, startMs)
    lastEnd = Math.max(lastEnd, startMs + blockSamples / 48)
    samples += blockSamples
    blocks++
  }

  at = segment.data
  while (at < segment.end) {
    const e = element(b, at, segment.end)
    if (e.id === ebml.cluster) {
      let clusterTime: number | undefined
      let inner = e.data
      while (inner < e.end) {
        // A Cluster of unknown size ends where an element that cannot be its child begins.
        if (e.unknownSize && !clusterChildren.has(vint(b, inner, e.end, true).value)) break
        const child = element(b, inner, e.end)
        if (child.unknownSize) throw corrupt(`a WebM element of unknown size at byte ${inner}`)
        if (child.id === ebml.timecode) clusterTime = ebmlUint(b, child)
        else if (child.id === ebml.simpleBlock) readBlock(child.data, child.end, clusterTime)
        else if (child.id === ebml.blockGroup) {
          for (const g of children(b, child)) {
            if (g.id === ebml.block) readBlock(g.data, g.end, clusterTime)
          }
        } else metadataBytes += child.end - inner
        inner = child.end
      }
      at = inner
      continue
    }
    if (e.unknownSize) throw corrupt(`a WebM element of unknown size at byte ${at}`)
    if (e.id === ebml.info) {
      for (const c of children(b, e)) {
        if (c.id === ebml.timecodeScale) timecodeScale = ebmlUint(b, c)
        if (c.id === ebml.duration) declaredDuration = ebmlFloat(b, c)
      }
      if (timecodeScale <= 0 || timecodeScale > 1e9) throw corrupt('the WebM timecode scale is invalid')
      metadataBytes += e.end - at
    } else if (e.id === ebml.tracks) {
      for (const entry of children(b, e)) {
        if (entry.id !== ebml.trackEntry) continue
        const t: WebmTrack = { number: 0, type: 0, codec: '' }
        for (const c of children(b, entry)) {
          if (c.id === ebml.trackNumber) t.number = ebmlUint(b, c)
          if (c.id === ebml.trackType) t.type = ebmlUint(b, c)
          if (c.id === ebml.codecId) t.codec = ascii(b, c.data, c.end - c.data).replace(/\0+$/, '')
          if (c.id === ebml.codecPrivate) t.codecPrivate = b.subarray(c.data, c.end)
        }
        tracks.push(t)
      }
      if (tracks.some((t) => t.type !== 2)) {
        throw new AudioProbeError('unsupported', 'Video is not accepted; upload audio only')
      }
      if (tracks.length !== 1)
        throw new AudioProbeError('unsupported', 'Only files with one audio track are accepted')
      track = tracks[0]!
      if (track.codec !== 'A_OPUS') {
        const name = track.codec === 'A_VORBIS' ? 'Vorbis audio' : `${track.codec || 'This'} codec`
        throw new AudioProbeError('unsupported', `${name} in WebM is not accepted; upload ${accepted}`)
      }
      if (!track.codecPrivate) throw corrupt('the Opus track has no header')
      head = opusHead(track.codecPrivate)
      metadataBytes += e.end - at
    } else {
      // SeekHead, Cues, Tags, Chapters, Attachments, Void, CRC-32 and anything unknown.
      metadataBytes += e.end - at
    }
    at = e.end
  }
  if (!track || !head) throw corrupt('the WebM file has no track list')
  if (blocks === 0) throw new AudioProbeError('no-audio', 'The file contains no audio')
  const timelineMs = lastEnd - Math.min(0, firstStart)
  const contentMs = (samples * 1000) / 48000
  checkClaim('block timestamps', timelineMs, contentMs)
  if (declaredDuration !== undefined && declaredDuration > 0) {
    checkClaim('Duration header', (declaredDuration * timecodeScale) / 1e6, timelineMs)
  }
  return {
    container: 'webm',
    codec: 'opus',
    durationMs: timelineMs,
    sampleRate: 48000,
    channels: head.channels,
    audioBytes,
    metadataBytes,
    junkBytes: b.length - segment.end,
  }
}

// ---------------------------------------------------------------------------------------------
// MP4 / M4A (ISO/IEC 14496-12), plain or fragmented, carrying AAC.

interface Box {
  type: string
  start: number
  /** Start of the payload. */
  data: number
  end: number
}

function box(b: Uint8Array, at: number, parentEnd: number): Box {
  if (at + 8 > parentEnd) {
    if (at + 8 > b.length) throw truncated('an MP4 box')
    throw corrupt(`an MP4 box at byte ${at} overflows its parent`)
  }
  let size = u32(b, at)
  const type = ascii(b, at + 4, 4)
  let header = 8
  if (size === 1) {
    if (at + 16 > parentEnd) throw truncated('an MP4 box')
    size = u64(b, at + 8)
    header = 16
  } else if (size === 0) {
    size = parentEnd - at
  }
  if (size < header) throw corrupt(`an MP4 box at byte ${at} has an invalid size`)
  if (at + size > parentEnd) {
    if (at + size > b.length) throw truncated(`the MP4 '${type}' box`)
    throw corrupt(`an MP4 box at byte ${at} overflows its parent`)
  }
  return { type, start: at, data: at + header, end: at + size }
}

function boxes(b: Uint8Array, parent: { data: number; end: number }, skip = 0): Box[] {
  const out: Box[] = []
  for (let at = parent.data + skip; at < parent.end;) {
    const child = box(b, at, parent.end)
    out.push(child)
    at = child.end
  }
  return out
}

const child = (list: Box[], type: string) => list.find((x) => x.type === type)

/** MPEG-4 descriptor length: up to four bytes of 7 bits, high bit = more. */
function descriptor(b: Uint8Array, at: number, end: number): { tag: number; data: number; end: number } {
  const tag = b[at]
  if (tag === undefined || at >= end) throw corrupt('the AAC decoder configuration is cut short')
  let length = 0
  let i = at + 1
  for (let n = 0; n < 4; n++, i++) {
    if (i >= end) throw corrupt('the AAC decoder configuration is cut short')
    length = (length << 7) | (b[i]! & 0x7f)
    if (!(b[i]! & 0x80)) {
      i++
      break
    }
  }
  if (i + length > end) throw corrupt('the AAC decoder configuration is cut short')
  return { tag, data: i, end: i + length }
}

class BitReader {
  private bit = 0
  constructor(
    private readonly b: Uint8Array,
    private readonly start: number,
    private readonly end: number,
  ) {}
  read(n: number): number {
    let value = 0
    for (let i = 0; i < n; i++) {
      const at = this.start + (this.bit >> 3)
      if (at >= this.end) throw corrupt('the AAC decoder configuration is cut short')
      value = value * 2 + ((this.b[at]! >> (7 - (this.bit & 7))) & 1)
      this.bit++
    }
    return value
  }
}

const aacObjectTypes: Record<number, string> = {
  1: 'AAC Main',
  3: 'AAC SSR',
  4: 'AAC LTP',
  6: 'AAC Scalable',
  17: 'ER AAC-LC',
  19: 'ER AAC LTP',
  20: 'ER AAC Scalable',
  23: 'AAC-LD',
  39: 'AAC-ELD',
  42: 'xHE-AAC (USAC)',
}

interface AacConfig {
  coreSampleRate: number
  channels: number
  /** Samples per access unit at the core rate: 1024, or 960 with the frame-length flag. */
  frameLength: number
}

/** The AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), just far enough to vet and time it. */
function audioSpecificConfig(b: Uint8Array, start: number, end: number): AacConfig {
  const r = new BitReader(b, start, end)
  const objectType = () => {
    const t = r.read(5)
    return t === 31 ? 32 + r.read(6) : t
  }
  const sampleRate = () => {
    const index = r.read(4)
    if (index === 15) return r.read(24)
    const rate = aacSampleRates[index]
    if (rate === undefined) throw corrupt('the AAC sample rate is invalid')
    return rate
  }
  let type = objectType()
  const coreSampleRate = sampleRate()
  const channels = r.read(4)
  if (type === 5 || type === 29) {
    // Explicitly signalled HE-AAC (SBR) / HE-AAC v2 (PS): the extension rate, then the core type.
    sampleRate()
    type = objectType()
  }
  if (type !== 2) {
    const name = aacObjectTypes[type] ?? `AAC object type ${type}`
    throw new AudioProbeError('unsupported', `${name} is not accepted; only AAC-LC and HE-AAC are`)
  }
  if (channels === 0 || channels > 2)
    throw new AudioProbeError('unsupported', 'Only mono or stereo audio is accepted')
  const frameLength = r.read(1) ? 960 : 1024
  return { coreSampleRate, channels, frameLength }
}

/** The AAC configuration from an `mp4a` sample entry; refuses every other sample entry type. */
function sampleEntry(b: Uint8Array, entry: Box): AacConfig {
  const names: Record<string, string> = {
    alac: 'Apple Lossless (ALAC) audio',
    Opus: 'Opus inside MP4',
    fLaC: 'FLAC audio',
    samr: 'AMR audio',
    sawb: 'AMR-WB audio',
    'ac-3': 'Dolby Digital (AC-3) audio',
    'ec-3': 'Dolby Digital Plus (E-AC-3) audio',
    '.mp3': 'MP3 inside MP4',
    lpcm: 'PCM audio',
    sowt: 'PCM audio',
    twos: 'PCM audio',
    ulaw: 'µ-law audio',
    alaw: 'A-law audio',
  }
  if (entry.type !== 'mp4a') {
    const name = names[entry.type] ?? `The '${entry.type}' codec`
    throw new AudioProbeError('unsupported', `${name} is not accepted; upload ${accepted}`)
  }
  // AudioSampleEntry: 6 reserved + 2 data-reference index, then the QuickTime sound description
  // version (0, 1 or 2), which decides where the child boxes start.
  const version = u16(b, entry.data + 8)
  const childrenAt = { 0: 28, 1: 44, 2: 64 }[version]
  if (childrenAt === undefined) throw corrupt('the MP4 audio sample entry has an unknown version')
  let list = boxes(b, entry, childrenAt)
  const wave = child(list, 'wave')
  if (wave) list = boxes(b, wave)
  const esds = child(list, 'esds')
  if (!esds) throw corrupt('the AAC track has no decoder configuration')

  const es = descriptor(b, esds.data + 4, esds.end)
  if (es.tag !== 0x03) throw corrupt('the AAC decoder configuration is invalid')
  let at = es.data + 2
  const flags = b[at++]!
  if (flags & 0x80) at += 2
  if (flags & 0x40) at += 1 + (b[at] ?? 0)
  if (flags & 0x20) at += 2
  const config = descriptor(b, at, es.end)
  if (config.tag !== 0x04) throw corrupt('the AAC decoder configuration is invalid')
  const objectTypeIndication = b[config.data]!
  if (objectTypeIndication === 0x69 || objectTypeIndication === 0x6b) {
    throw new AudioProbeError('unsupported', `MP3 inside MP4 is not accepted; upload ${accepted}`)
  }
  const channels = u16(b, entry.data + 16)
  if (objectTypeIndication === 0x67) {
    // MPEG-2 AAC-LC: the configuration, when present, is optional; timing is that of AAC-LC.
    const rate = u32(b, entry.data + 24) >>> 16
    if (channels === 0 || channels > 2)
      throw new AudioProbeError('unsupported', 'Only mono or stereo audio is accepted')
    return { coreSampleRate: rate, channels, frameLength: 1024 }
  }
  if (objectTypeIndication !== 0x40) {
    throw new AudioProbeError('unsupported', `This MP4 audio codec is not accepted; upload ${accepted}`)
  }
  const specific = descriptor(b, config.data + 13, config.end)
  if (specific.tag !== 0x05) throw corrupt('the AAC decoder configuration is invalid')
  return audioSpecificConfig(b, specific.data, specific.end)
}

/** Full-box helpers: version byte, then the 24-bit flags. */
const fullBoxVersion = (b: Uint8Array, x: Box) => b[x.data]!
const fullBoxFlags = (b: Uint8Array, x: Box) => u32(b, x.data) & 0xffffff

/** Timescale and duration of an `mvhd` or `mdhd`. */
function timing(b: Uint8Array, x: Box): { timescale: number; duration: number } {
  const v1 = fullBoxVersion(b, x) === 1
  const at = x.data + 4 + (v1 ? 16 : 8)
  if (at + (v1 ? 12 : 8) > x.end) throw corrupt(`the MP4 '${x.type}' box is cut short`)
  const timescale = u32(b, at)
  if (timescale === 0) throw corrupt(`the MP4 '${x.type}' timescale is zero`)
  // All ones means "unknown" (e.g. written while recording).
  if (u32(b, at + 4) === 0xffffffff && (!v1 || u32(b, at + 8) === 0xffffffff))
    return { timescale, duration: 0 }
  return { timescale, duration: v1 ? u64(b, at + 4) : u32(b, at + 4) }
}

interface Track {
  id: number
  handler: string
  timescale: number
  mediaDuration: number
  trak: Box
  stbl?: Box
}

/** Byte ranges the sample data occupies, to check against the `mdat` boxes. */
type Range = [number, number]

function parseMp4(b: Uint8Array): Parsed {
  const top: Box[] = []
  let junkBytes = 0
  for (let at = 0; at < b.length;) {
    // Junk after the last box does not look like a box: stop there and count it.
    if (b.length - at < 8 || !/^[\x20-\x7e\xa9]{4}$/.test(ascii(b, at + 4, 4))) {
      junkBytes = b.length - at
      break
    }
    const x = box(b, at, b.length)
    top.push(x)
    at = x.end
  }
  if (top[0]?.type !== 'ftyp') throw corrupt('the MP4 file does not start with its type box')
  const moovs = top.filter((x) => x.type === 'moov')
  if (moovs.length === 0) throw truncated('the MP4 file (its index, the moov box, is missing)')
  if (moovs.length > 1) throw corrupt('the MP4 file has two indexes')
  const moov = moovs[0]!
  const mdats = top.filter((x) => x.type === 'mdat')
  const moovChildren = boxes(b, moov)
  const mvhd = child(moovChildren, 'mvhd')
  if (!mvhd) throw corrupt('the MP4 movie header is missing')
  const movie = timing(b, mvhd)

  const tracks: Track[] = []
  for (const trak of moovChildren.filter((x) => x.type === 'trak')) {
    const trakChildren = boxes(b, trak)
    const tkhd = child(trakChildren, 'tkhd')
    const mdia = child(trakChildren, 'mdia')
    if (!tkhd || !mdia) throw corrupt('an MP4 track is incomplete')
    const id = u32(b, tkhd.data + 4 + (fullBoxVersion(b, tkhd) === 1 ? 16 : 8))
    const mdiaChildren = boxes(b, mdia)
    const mdhd = child(mdiaChildren, 'mdhd')
    const hdlr = child(mdiaChildren, 'hdlr')
    if (!mdhd || !hdlr) throw corrupt('an MP4 track is incomplete')
    const media = timing(b, mdhd)
    const minf = child(mdiaChildren, 'minf')
    const stbl = minf && child(boxes(b, minf), 'stbl')
    tracks.push({
      trak,
      id,
      handler: ascii(b, hdlr.data + 8, 4),
      timescale: media.timescale,
      mediaDuration: media.duration,
      stbl,
    })
  }
  if (tracks.some((t) => t.handler === 'vide')) {
    throw new AudioProbeError('unsupported', 'Video is not accepted; upload audio only')
  }
  const audioTracks = tracks.filter((t) => t.handler === 'soun')
  if (audioTracks.length !== 1) {
    throw new AudioProbeError(
      audioTracks.length === 0 ? 'no-audio' : 'unsupported',
      audioTracks.length === 0
        ? 'The file contains no audio track'
        : 'Only files with one audio track are accepted',
    )
  }
  const audio = audioTracks[0]!
  if (!audio.stbl) throw corrupt('the MP4 audio track has no sample table')
  const stblChildren = boxes(b, audio.stbl)
  const stsd = child(stblChildren, 'stsd')
  if (!stsd) throw corrupt('the MP4 audio track has no sample description')
  const entries = boxes(b, stsd, 8)
  if (entries.length !== 1)
    throw new AudioProbeError('unsupported', 'MP4 audio must have exactly one sample description')
  const aac = sampleEntry(b, entries[0]!)

  // Sample data of every track must lie inside an mdat; data of the audio track is the audio.
  const ranges: Range[] = []
  let audioSamples = 0
  let audioBytes = 0
  let audioTicks = 0
  // Fragment decode times: a recording need not start at zero (CMAF and Safari's MediaRecorder
  // may carry the capture clock), so the timeline is the span from the first to the last.
  let timelineStart = Infinity
  let timelineEnd = -Infinity
  const maxSample = maxAacFrameBytes(aac.channels)

  const fragmented = Boolean(child(moovChildren, 'mvex'))
  for (const track of tracks) {
    const isAudio = track === audio
    if (!track.stbl) continue
    const table = sampleTable(b, boxes(b, track.stbl), isAudio ? maxSample : Infinity, ranges)
    if (isAudio) {
      audioSamples += table.samples
      audioBytes += table.bytes
      audioTicks += table.ticks
    }
  }
  if (fragmented) {
    const trex = new Map<number, { duration: number; size: number }>()
    for (const x of boxes(b, child(moovChildren, 'mvex')!)) {
      if (x.type === 'trex')
        trex.set(u32(b, x.data + 4), { duration: u32(b, x.data + 12), size: u32(b, x.data + 16) })
    }
    for (const moof of top.filter((x) => x.type === 'moof')) {
      for (const traf of boxes(b, moof).filter((x) => x.type === 'traf')) {
        const fragment = trackFragment(b, moof, traf, trex, audio.id, maxSample, ranges)
        if (!fragment) continue
        audioSamples += fragment.samples
        audioBytes += fragment.bytes
        audioTicks += fragment.ticks
        if (fragment.decodeTime !== undefined) {
          timelineStart = Math.min(timelineStart, fragment.decodeTime)
          timelineEnd = Math.max(timelineEnd, fragment.decodeTime + fragment.ticks)
        }
      }
    }
  } else if (top.some((x) => x.type === 'moof')) {
    throw corrupt('the MP4 file has fragments but no fragment header')
  }
  if (audioSamples === 0) throw new AudioProbeError('no-audio', 'The file contains no audio')

  // Every byte of every mdat should be sample data; the rest is unexplained (junk). Outside the
  // mdats, whatever is not part of the structure described by `mp4Structure` is metadata.
  const covered = coverage(ranges, mdats)
  junkBytes += mdats.reduce((n, x) => n + (x.end - x.data), 0) - covered
  const metadataBytes = metadataIn(b, top, audio.trak) + (covered - audioBytes)

  // The decoded length: every AAC access unit is `frameLength` samples at the core rate.
  const contentMs = (audioSamples * aac.frameLength * 1000) / aac.coreSampleRate
  const toMs = (ticks: number, scale: number) => (ticks * 1000) / scale
  checkClaim('sample table', toMs(audioTicks, audio.timescale), contentMs)
  if (audio.mediaDuration > 0)
    checkClaim('track header', toMs(audio.mediaDuration, audio.timescale), contentMs)
  if (movie.duration > 0) checkClaim('movie header', toMs(movie.duration, movie.timescale), contentMs)
  if (timelineEnd > timelineStart) {
    checkClaim('fragment timeline', toMs(timelineEnd - timelineStart, audio.timescale), contentMs)
  }
  return {
    container: 'mp4',
    codec: 'aac',
    durationMs: contentMs,
    sampleRate: aac.coreSampleRate,
    channels: aac.channels,
    audioBytes,
    metadataBytes,
    junkBytes,
  }
}

/**
 * The boxes that make up an audio MP4 (`true` = a leaf read as a whole). Anything else — `udta`,
 * `meta`, `free`, unknown boxes, tracks other than the audio one — and any slack in a leaf beyond
 * what its entries need counts as metadata.
 */
type Structure = { [type: string]: Structure | true }
const mp4Structure: Structure = {
  ftyp: true,
  moov: {
    mvhd: true,
    iods: true,
    mvex: { mehd: true, trex: true },
    trak: {
      tkhd: true,
      edts: true,
      tref: true,
      mdia: {
        mdhd: true,
        hdlr: true,
        minf: {
          smhd: true,
          dinf: true,
          stbl: {
            stsd: true,
            stts: true,
            stsc: true,
            stsz: true,
            stz2: true,
            stco: true,
            co64: true,
            stss: true,
            ctts: true,
            sgpd: true,
            sbgp: true,
            sdtp: true,
            cslg: true,
          },
        },
      },
    },
  },
  moof: {
    mfhd: true,
    traf: {
      tfhd: true,
      tfdt: true,
      trun: true,
      sgpd: true,
      sbgp: true,
      saiz: true,
      saio: true,
      sdtp: true,
      subs: true,
    },
  },
}

/** Bytes a leaf box may take: what its entries need for tables, a small fixed amount otherwise. */
function leafAllowance(b: Uint8Array, x: Box): number {
  const n = u32(b, x.data + 4)
  const header = x.data - x.start + 8
  switch (x.type) {
    case 'stts':
    case 'ctts':
      return header + 8 * n
    case 'stsc':
      return header + 12 * n
    case 'stco':
    case 'stss':
      return header + 4 * n
    case 'co64':
      return header + 8 * n
    case 'stsz':
      return header + 4 + (u32(b, x.data + 4) === 0 ? 4 * u32(b, x.data + 8) : 0)
    case 'stz2':
      return header + 4 + Math.ceil((u32(b, x.data + 8) * b[x.data + 7]!) / 8)
    case 'trun': {
      const f = fullBoxFlags(b, x)
      const fields = [0x100, 0x200, 0x400, 0x800].filter((bit) => f & bit).length
      return header + (f & 1 ? 4 : 0) + (f & 4 ? 4 : 0) + n * fields * 4
    }
    default:
      return 4096
  }
}

function metadataIn(b: Uint8Array, list: Box[], audioTrak: Box, structure: Structure = mp4Structure): number {
  let n = 0
  for (const x of list) {
    if (x.type === 'mdat') continue
    const known = structure[x.type]
    if (known === undefined || (x.type === 'trak' && x.start !== audioTrak.start)) n += x.end - x.start
    else if (known === true) n += Math.max(0, x.end - x.start - leafAllowance(b, x))
    else n += metadataIn(b, boxes(b, x), audioTrak, known)
  }
  return n
}

/**
 * Walk a (non-fragmented) sample table: sizes (stsz/stz2), chunks (stsc + stco/co64) and times
 * (stts). Pushes every chunk's byte range. Each table is bounded by its box's size, so a forged
 * count cannot make this loop longer than the file.
 */
function sampleTable(
  b: Uint8Array,
  list: Box[],
  maxSample: number,
  ranges: Range[],
): { samples: number; bytes: number; ticks: number } {
  const stts = child(list, 'stts')
  const stsc = child(list, 'stsc')
  const stsz = child(list, 'stsz') ?? child(list, 'stz2')
  const stco = child(list, 'stco') ?? child(list, 'co64')
  if (!stts || !stsc || !stsz || !stco) throw corrupt('the MP4 sample table is incomplete')

  const sizeAt = sampleSizes(b, stsz)
  const count = sizeAt.count
  const entries = (x: Box, width: number) => {
    const n = u32(b, x.data + 4)
    if (x.data + 8 + n * width > x.end) throw corrupt(`the MP4 '${x.type}' table is cut short`)
    return n
  }
  let ticks = 0
  let timed = 0
  for (let i = 0, n = entries(stts, 8); i < n; i++) {
    const samples = u32(b, stts.data + 8 + i * 8)
    timed += samples
    ticks += samples * u32(b, stts.data + 12 + i * 8)
  }
  if (timed !== count) throw corrupt('the MP4 sample tables disagree on the number of samples')

  const wide = stco.type === 'co64'
  const chunks = entries(stco, wide ? 8 : 4)
  const runs = entries(stsc, 12)
  let sample = 0
  let bytes = 0
  for (let r = 0; r < runs; r++) {
    const firstChunk = u32(b, stsc.data + 8 + r * 12)
    const perChunk = u32(b, stsc.data + 12 + r * 12)
    const lastChunk = r + 1 < runs ? u32(b, stsc.data + 8 + (r + 1) * 12) - 1 : chunks
    if (firstChunk < 1 || lastChunk > chunks || lastChunk < firstChunk - 1)
      throw corrupt('the MP4 chunk table is invalid')
    for (let c = firstChunk; c <= lastChunk; c++) {
      const offset = wide ? u64(b, stco.data + 8 + (c - 1) * 8) : u32(b, stco.data + 8 + (c - 1) * 4)
      if (sample + perChunk > count) throw corrupt('the MP4 sample tables disagree on the number of samples')
      const size = sizeAt.sum(sample, perChunk, maxSample)
      if (offset + size > b.length) throw truncated('the MP4 audio data')
      ranges.push([offset, offset + size])
      sample += perChunk
      bytes += size
    }
  }
  if (sample !== count) throw corrupt('the MP4 sample tables disagree on the number of samples')
  return { samples: count, bytes, ticks }
}

/** stsz / stz2 reader: the sample count, and the byte sum of a run of samples (size-checked). */
function sampleSizes(b: Uint8Array, x: Box) {
  const compact = x.type === 'stz2'
  const uniform = compact ? 0 : u32(b, x.data + 4)
  const field = compact ? b[x.data + 7]! : 32
  const count = u32(b, x.data + 8)
  if (compact && field !== 4 && field !== 8 && field !== 16)
    throw corrupt('the MP4 sample size table is invalid')
  if (uniform === 0 && x.data + 12 + Math.ceil((count * field) / 8) > x.end) {
    throw corrupt('the MP4 sample size table is cut short')
  }
  const sizeOf = (i: number) => {
    if (field === 32) return u32(b, x.data + 12 + i * 4)
    if (field === 16) return u16(b, x.data + 12 + i * 2)
    if (field === 8) return b[x.data + 12 + i]!
    const byte = b[x.data + 12 + (i >> 1)]!
    return i & 1 ? byte & 0xf : byte >> 4
  }
  return {
    count,
    sum(first: number, n: number, max: number): number {
      if (uniform !== 0) {
        if (uniform > max) throw corrupt('an MP4 audio sample is larger than AAC allows')
        return uniform * n
      }
      let total = 0
      for (let i = first; i < first + n; i++) {
        const size = sizeOf(i)
        if (size > max) throw corrupt('an MP4 audio sample is larger than AAC allows')
        total += size
      }
      return total
    },
  }
}

/** One `traf` of a fragment: its samples, bytes, ticks and decode time, if it is the audio track's. */
function trackFragment(
  b: Uint8Array,
  moof: Box,
  traf: Box,
  trex: Map<number, { duration: number; size: number }>,
  audioTrackId: number,
  maxSample: number,
  ranges: Range[],
): { samples: number; bytes: number; ticks: number; decodeTime?: number } | undefined {
  const list = boxes(b, traf)
  const tfhd = child(list, 'tfhd')
  if (!tfhd) throw corrupt('an MP4 fragment has no header')
  const flags = fullBoxFlags(b, tfhd)
  const trackId = u32(b, tfhd.data + 4)
  let at = tfhd.data + 8
  let base = moof.start
  if (flags & 0x01) {
    base = u64(b, at)
    at += 8
  }
  if (flags & 0x02) at += 4
  const defaults = trex.get(trackId) ?? { duration: 0, size: 0 }
  let defaultDuration = defaults.duration
  let defaultSize = defaults.size
  if (flags & 0x08) {
    defaultDuration = u32(b, at)
    at += 4
  }
  if (flags & 0x10) defaultSize = u32(b, at)
  if (at > tfhd.end) throw corrupt('an MP4 fragment header is cut short')

  const tfdt = child(list, 'tfdt')
  const decodeTime = tfdt
    ? fullBoxVersion(b, tfdt) === 1
      ? u64(b, tfdt.data + 4)
      : u32(b, tfdt.data + 4)
    : undefined
  const isAudio = trackId === audioTrackId
  let cursor = base
  let samples = 0
  let bytes = 0
  let ticks = 0
  for (const trun of list.filter((x) => x.type === 'trun')) {
    const f = fullBoxFlags(b, trun)
    const count = u32(b, trun.data + 4)
    let p = trun.data + 8
    let start = cursor
    if (f & 0x01) {
      start = base + (u32(b, p) | 0)
      p += 4
    }
    if (f & 0x04) p += 4
    const fields = [0x100, 0x200, 0x400, 0x800].filter((bit) => f & bit).length
    if (p + count * fields * 4 > trun.end) throw corrupt('an MP4 fragment run is cut short')
    let size = 0
    for (let i = 0; i < count; i++) {
      const duration = f & 0x100 ? u32(b, p) : defaultDuration
      if (f & 0x100) p += 4
      const sampleSize = f & 0x200 ? u32(b, p) : defaultSize
      if (f & 0x200) p += 4
      if (f & 0x400) p += 4
      if (f & 0x800) p += 4
      if (isAudio && sampleSize > maxSample) throw corrupt('an MP4 audio sample is larger than AAC allows')
      size += sampleSize
      ticks += duration
    }
    if (start + size > b.length) throw truncated('the MP4 audio data')
    ranges.push([start, start + size])
    cursor = start + size
    samples += count
    bytes += size
  }
  return isAudio ? { samples, bytes, ticks, decodeTime } : undefined
}

/**
 * How many mdat payload bytes the sample ranges cover. A range outside every mdat is corrupt;
 * overlapping ranges count once.
 */
function coverage(ranges: Range[], mdats: Box[]): number {
  const sorted = ranges.filter(([s, e]) => e > s).sort((x, y) => x[0] - y[0])
  let covered = 0
  let reach = 0
  for (const [s, e] of sorted) {
    if (!mdats.some((m) => s >= m.data && e <= m.end))
      throw corrupt('the MP4 index points outside its media data')
    const from = Math.max(s, reach)
    if (e > from) covered += e - from
    reach = Math.max(reach, e)
  }
  return covered
}
