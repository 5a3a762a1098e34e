import { z } from '@hono/zod-openapi'
import { mediaUrl } from '../media/media-url'
import { FlairSchema } from '../flair/flair'
import { VerificationLevelSchema } from '../profiles/fields'
import type { Services } from '..'
import { type FeedCursor, feedQuery } from './feed-query'

/**
 * The activity feed: what members did lately (joined, added a photo or voice bio, updated their
 * bio, were online), filtered and ranked for the viewer by the rules in ./feed-query.ts.
 */

export const feedEventKinds = [
  'joined',
  'added-photo',
  'added-voice-bio',
  'updated-bio',
  'recently-online',
] as const

const PhotoRefSchema = z.object({ url: z.url(), blurhash: z.string() })

export const FeedItemSchema = z
  .object({
    id: z.uuid(),
    urlSlug: z.string().nullable(),
    name: z.string().nullable(),
    age: z.number().int().nullable().openapi({ description: 'null when the member hides their age' }),
    place: z.string().nullable().openapi({ description: 'Short place label; null when hidden' }),
    photo: PhotoRefSchema.nullable().openapi({ description: 'The first photo (450 × 450), if any' }),
    matchPercentage: z.number().int().min(0).max(99),
    verificationLevel: VerificationLevelSchema,
    flair: FlairSchema,
    event: z.object({
      kind: z.enum(feedEventKinds),
      at: z.iso.datetime({ offset: true }),
      photo: PhotoRefSchema.nullable().openapi({ description: 'For `added-photo`: the photo added' }),
      addedText: z
        .string()
        .nullable()
        .openapi({ description: 'For `updated-bio`: the text the update added' }),
    }),
  })
  .openapi('FeedItem')
export type FeedItem = z.infer<typeof FeedItemSchema>

const dateTime = z.iso.datetime({ offset: true })
const uuid = z.uuid()

/** `<date-time>` or `<date-time>_<member id>` (what `nextBefore` returns). */
export function parseFeedCursor(text: string): FeedCursor | null {
  const [t, id, ...rest] = text.split('_')
  if (rest.length > 0 || !dateTime.safeParse(t).success) return null
  if (id !== undefined && !uuid.safeParse(id).success) return null
  return { t: t!, id: id?.toLowerCase() ?? null }
}

const cursorPattern =
  '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})(_[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$'

/** A feed position: a date-time (items strictly older), or a `nextBefore` (a date-time, `_`, a member id). */
export const FeedCursorSchema = z
  .string()
  .max(80)
  .regex(new RegExp(cursorPattern))
  .refine((text) => parseFeedCursor(text) !== null, { message: 'not a valid date-time or feed cursor' })
  .openapi({ example: '2026-12-06T21:14:03.512301Z_0b6c3f36-8d1a-4b53-9a4e-2f1d6c7e9a10' })

export const FeedPageSchema = z
  .object({
    data: z.array(FeedItemSchema),
    nextBefore: z.string().regex(new RegExp(cursorPattern)).nullable().openapi({
      description:
        'Pass as `before` for the next page: the time (UTC, microseconds) and id of the last member read, joined by `_`. Null when nothing older is left.',
      example: '2026-12-06T21:14:03.512301Z_0b6c3f36-8d1a-4b53-9a4e-2f1d6c7e9a10',
    }),
  })
  .openapi('FeedPage')
export type FeedPage = z.infer<typeof FeedPageSchema>

interface FeedRow {
  user_id: string
  t: string
  match: number
  window_oldest: string
  kind: (typeof feedEventKinds)[number]
  event_photo_id: string | null
  event_photo_blurhash: string | null
  added_text: string | null
  name: string | null
  url_slug: string | null
  verification_level: FeedItem['verificationLevel']
  age: number | null
  place: string | null
  photo_id: string | null
  photo_blurhash: string | null
  flair: string[] | string
}

/** A `text[]` that arrived as its literal (`{a,b}`) rather than parsed. */
export function textArray(value: string[] | string | null): string[] {
  if (Array.isArray(value)) return value
  if (!value || value === '{}') return []
  return value
    .slice(1, -1)
    .split(',')
    .map((x) => x.replace(/^"|"$/g, ''))
}

/**
 * One feed page for `viewerId`: at most 50 items, newest first, all below `before` (a validated
 * {@link FeedCursorSchema}; default: now). Same viewer, same day, same data → same page.
 *
 * @example
 * const first = await feedPage(s, caller.userId, undefined)
 * const next = first.nextBefore ? await feedPage(s, caller.userId, first.nextBefore) : null
 */
export async function feedPage(s: Services, viewerId: string, before: string | undefined): Promise<FeedPage> {
  const now = s.clock.now()
  const { rows } = await s.database.db.execute<Record<string, unknown>>(
    feedQuery({
      viewerId,
      before: (before === undefined ? null : parseFeedCursor(before)) ?? { t: now.toISOString(), id: null },
      now,
      earlyAdopterCutoff: s.config.flair.earlyAdopterCutoff,
    }),
  )
  const list = rows as unknown as FeedRow[]
  const photo = (id: string | null, blurhash: string | null) =>
    id && blurhash ? { url: mediaUrl(s.config, 'images', `450-${id}.jpg`), blurhash } : null
  return {
    data: list.map((r) => ({
      id: r.user_id,
      urlSlug: r.url_slug,
      name: r.name,
      age: r.age === null ? null : Number(r.age),
      place: r.place,
      photo: photo(r.photo_id, r.photo_blurhash),
      matchPercentage: Number(r.match),
      verificationLevel: r.verification_level,
      flair: textArray(r.flair),
      event: {
        kind: r.kind,
        at: r.t,
        photo: r.kind === 'added-photo' ? photo(r.event_photo_id, r.event_photo_blurhash) : null,
        addedText: r.kind === 'updated-bio' ? r.added_text : null,
      },
    })),
    nextBefore: list.length > 0 ? list[0]!.window_oldest : null,
  }
}
