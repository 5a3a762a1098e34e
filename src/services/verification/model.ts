import { z } from 'zod'
import { type genderValues, type ethnicityValues } from '../../db/schema'
import { sha256Hex } from '../../lib/crypto'
import { PermanentJobError, RetryLaterError } from '../platform/jobs'
import type { Services } from '..'

/**
 * What is sent to the vision model (prompt, images, request body) and how its HTTP answer is read,
 * including Retry-After.
 */

const genderLabels: Record<(typeof genderValues)[number], string> = {
  man: 'Man',
  woman: 'Woman',
  agender: 'Agender',
  intersex: 'Intersex',
  'non-binary': 'Non-binary',
  transgender: 'Transgender',
  'trans-woman': 'Trans woman',
  'trans-man': 'Trans man',
  other: 'Other',
}

const ethnicityLabels: Record<(typeof ethnicityValues)[number], string> = {
  'black-african-descent': 'Black/African Descent',
  'east-asian': 'East Asian',
  'hispanic-latino': 'Hispanic/Latino',
  'middle-eastern': 'Middle Eastern',
  'native-american': 'Native American',
  'pacific-islander': 'Pacific Islander',
  'south-asian': 'South Asian',
  'southeast-asian': 'Southeast Asian',
  'white-caucasian': 'White/Caucasian',
  other: 'Other',
}

export interface Claims {
  age: number
  gender: (typeof genderValues)[number]
  ethnicity: (typeof ethnicityValues)[number] | null
}

/** The model's answer key for "the selfie's person appears in the n-th photo" (photo 0 = image #2). */
export const samePersonKey = (photoIndex: number) => `image_1_has_person_from_image_${photoIndex + 2}`

/**
 * The system prompt: every claim the model must give a probability for, as a typed JSON shape
 * (the form the model follows most reliably).
 */
export function verificationPrompt(claims: Claims, photoCount: number): string {
  const lines = [
    'A member of a dating site is verifying their identity. Image #1 is a selfie they took for this purpose;',
    'any further images are the photos on their profile. For each claim below, estimate the probability',
    '(0.0 to 1.0) that it is true, and answer with a single JSON object of exactly this shape:',
    '',
    '```typescript',
    '{',
    '  // Image #1 is a photograph (not a drawing, render or AI-generated image)',
    '  image_1_is_photograph: number',
    '  // Image #1 shows no sign of being a screenshot or a photo of a screen',
    '  image_1_is_not_screenshot: number',
    '  // Image #1 was not edited (no filters, retouching or compositing)',
    '  image_1_was_not_edited: number',
    '  // Image #1 contains at least one person',
    '  image_1_has_at_least_one_person: number',
    '  // Image #1 contains exactly one person',
    '  image_1_has_exactly_one_person: number',
    `  // The person in image #1 has this gender: ${genderLabels[claims.gender]}. The member chose it from:`,
    `  // ${Object.values(genderLabels).join(', ')}. In equivocal cases, prefer probabilities near 1.0.`,
    '  image_1_has_claimed_gender: number',
    `  // The person in image #1 is ${claims.age} years old`,
    '  image_1_has_claimed_age: number',
    '  // The person in image #1 is 18 years old or older',
    '  image_1_has_claimed_minimum_age: number',
  ]
  if (claims.ethnicity) {
    lines.push(
      `  // The primary or only ethnicity of the person in image #1 is: ${ethnicityLabels[claims.ethnicity]}.`,
      `  // The member chose it from: ${Object.values(ethnicityLabels).join(', ')}.`,
      '  // In equivocal cases, prefer probabilities near 1.0.',
      '  image_1_has_claimed_ethnicity: number',
    )
  }
  lines.push(
    '  // The person in image #1 is smiling',
    '  image_1_has_smiling_person: number',
    '  // A hand of the person in image #1 touches their eyebrow or the face next to it (e.g. the forehead)',
    '  image_1_has_eyebrow_touch: number',
    '  // The person in image #1 gives a thumbs down (thumb visible, pointing downward)',
    '  image_1_has_downward_thumb: number',
  )
  for (let i = 0; i < photoCount; i++) {
    lines.push(`  // The person in image #1 also appears in image #${i + 2}`, `  ${samePersonKey(i)}: number`)
  }
  lines.push('}', '```')
  return lines.join('\n')
}

/**
 * Bytes as a `data:` URL: the model receives the images inline, so no bucket has to be public
 * and no URL can leak. Built in chunks, since spreading a large array into fromCharCode overflows
 * the stack.
 */
function dataUrl(bytes: Uint8Array): string {
  let binary = ''
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  }
  return `data:image/jpeg;base64,${btoa(binary)}`
}

/**
 * The member's id as OpenAI's `safety_identifier`: hashed, as OpenAI recommends, so abuse
 * reports can name a member without the request carrying our id. Tests use it to script the
 * fake OpenAI per member.
 *
 * @example
 * const id = await safetyIdentifier(userId) // 64 hex chars
 */
export function safetyIdentifier(userId: string): Promise<string> {
  return sha256Hex(`rapport-verification:${userId}`)
}

/** The chat-completions request body for one attempt. */
export async function verificationRequestBody(
  s: Services,
  input: { userId: string; claims: Claims; selfie: Uint8Array; photos: Uint8Array[] },
) {
  const content: unknown[] = [
    { type: 'text', text: 'Image #1:' },
    { type: 'image_url', image_url: { url: dataUrl(input.selfie), detail: 'high' } },
  ]
  input.photos.forEach((bytes, i) => {
    content.push(
      { type: 'text', text: `Image #${i + 2}:` },
      { type: 'image_url', image_url: { url: dataUrl(bytes), detail: 'low' } },
    )
  })
  return {
    model: s.config.openai.model,
    response_format: { type: 'json_object' },
    temperature: 0,
    max_tokens: 500,
    safety_identifier: await safetyIdentifier(input.userId),
    messages: [
      { role: 'system', content: verificationPrompt(input.claims, input.photos.length) },
      { role: 'user', content },
    ],
  }
}

const CompletionSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        message: z.object({ content: z.string().nullable(), refusal: z.string().nullable().optional() }),
        finish_reason: z.string().nullable().optional(),
      }),
    )
    .min(1),
})

/** Seconds to wait as the upstream asked (`retry-after-ms`, `retry-after` in seconds or as a date), if sane. */
export function parseRetryAfter(headers: Headers, now: Date): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? Number.NaN)
  if (Number.isFinite(ms) && ms >= 0) return ms / 1000
  const value = headers.get('retry-after')
  if (value === null) return undefined
  const seconds = /^\s*\d+(\.\d+)?\s*$/.test(value)
    ? Number(value)
    : (Date.parse(value) - now.getTime()) / 1000
  // Negative, unparseable or more than a day: not advice worth following.
  return Number.isFinite(seconds) && seconds >= 0 && seconds <= 86_400 ? seconds : undefined
}

/** Transient: the queue retries the job with backoff. */
export class TransientUpstreamError extends Error {
  override name = 'TransientUpstreamError'
}

/** The answer from the model: its JSON text, or its refusal. */
type ModelAnswer = { content: string; model?: string } | { refusal: string }

/**
 * One chat-completions call. Throws a retryable error for 408/409/429/5xx (as OpenAI's own SDKs
 * retry), network failures, timeouts and unreadable bodies — a {@link RetryLaterError} when the
 * answer said how long to wait — and a {@link PermanentJobError} for any other 4xx (a bad key, a
 * bad request: retrying cannot help).
 */
export async function askModel(s: Services, body: unknown): Promise<ModelAnswer> {
  const { apiKey, baseUrl, timeoutMs } = s.config.openai
  if (!apiKey) throw new PermanentJobError('OPENAI_API_KEY is not configured')
  let res: Response
  try {
    res = await fetch(`${baseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    })
  } catch (err) {
    if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
      throw new TransientUpstreamError(`OpenAI did not answer within ${timeoutMs} ms`)
    }
    throw new TransientUpstreamError(`OpenAI request failed: ${String(err)}`)
  }
  let text: string
  try {
    text = await res.text()
  } catch (err) {
    throw new TransientUpstreamError(`OpenAI answer could not be read: ${String(err)}`)
  }
  if (!res.ok) {
    let detail = text.slice(0, 300)
    try {
      detail = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? detail
    } catch {
      // Not JSON (a proxy's HTML error page): keep the raw start.
    }
    const message = `OpenAI answered ${res.status}: ${detail}`
    if (res.status === 408 || res.status === 409 || res.status === 429 || res.status >= 500) {
      const retryAfter = parseRetryAfter(res.headers, s.clock.now())
      throw retryAfter === undefined
        ? new TransientUpstreamError(message)
        : new RetryLaterError(message, retryAfter)
    }
    throw new PermanentJobError(message)
  }
  let completion: z.infer<typeof CompletionSchema>
  try {
    completion = CompletionSchema.parse(JSON.parse(text))
  } catch {
    throw new TransientUpstreamError('OpenAI answered 200 with a body that is not a chat completion')
  }
  const message = completion.choices[0]!.message
  if (message.refusal) return { refusal: message.refusal }
  if (message.content === null) throw new TransientUpstreamError('OpenAI answered with no content')
  return { content: message.content, model: completion.model }
}
