import { z } from '@hono/zod-openapi'
import { type SQL, asc, eq, sql } from 'drizzle-orm'
import {
  feedEvents,
  messaged,
  photos,
  places,
  profiles,
  skips,
  users,
  verificationLevelValues,
  voiceBios,
} from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { ageOn } from '../search/geo'
import { isUuid } from '../../lib/ids'
import { forgetAccount } from '../accounts/account-cache'
import { addedText } from '../feed/bio-event'
import { textArray } from '../feed/feed'
import { FlairSchema, flairExpression } from '../flair/flair'
import { ReplyRatesSchema, replyRates } from '../reply-rates/reply-rates'
import { listPhotos } from '../media/photos'
import { type PhotoRow, PhotoSchema, photoView } from '../media/photo-view'
import { findPlaceByLabel } from './places'
import {
  AboutSchema,
  EthnicitySchema,
  FrequencySchema,
  GenderSchema,
  LookingForSchema,
  NameSchema,
  NotificationFrequencySchema,
  OrientationSchema,
  RelationshipStatusSchema,
  ReligionSchema,
  ShortTextSchema,
  StarSignSchema,
  UnitsSchema,
  VerificationLevelSchema,
  YesNoMaybeSchema,
  YesNoSchema,
  assertAcceptableText,
  fieldError,
} from './fields'
import { assignUrlSlug } from './slugs'
import { refreshVerificationLevel } from '../verification/level'
import { type Features, tierFeatures } from '../accounts/tiers'
import { type VoiceBioRow, VoiceBioSchema, getVoiceBio, voiceBioView } from '../media/voice-bio'
import { type clubsOf, clubsOfQuery } from '../clubs/clubs'
import { type Visit, recordVisitIfVisibleQuery, visitorRowFrom, visitorRowQuery } from './visits'

const NIL_UUID = '00000000-0000-0000-0000-000000000000'
import type { Services } from '..'

/**
 * Profiles after onboarding: the member's own profile (every field, editable) and other members'
 * profiles (what the visibility and privacy rules allow).
 */

const ColorSchema = z
  .string()
  .transform((v) => v.toLowerCase())
  .pipe(z.string().regex(/^#[0-9a-f]{6}$/, 'must be a #rrggbb colour'))
  .openapi({ type: 'string', pattern: '^#[0-9A-Fa-f]{6}$', minLength: 7, maxLength: 7, example: '#7b2ff7' })

export const ThemeSchema = z
  .object({ titleColor: ColorSchema, bodyColor: ColorSchema, backgroundColor: ColorSchema })
  .openapi('Theme')

/** The eleven "basics" plus orientation and ethnicity: null means unanswered. */
const basics = {
  orientation: OrientationSchema.nullable(),
  ethnicity: EthnicitySchema.nullable(),
  lookingFor: LookingForSchema.nullable(),
  smoking: YesNoSchema.nullable(),
  drinking: FrequencySchema.nullable(),
  drugs: YesNoSchema.nullable(),
  longDistance: YesNoSchema.nullable(),
  relationshipStatus: RelationshipStatusSchema.nullable(),
  hasKids: YesNoSchema.nullable(),
  wantsKids: YesNoMaybeSchema.nullable(),
  exercise: FrequencySchema.nullable(),
  religion: ReligionSchema.nullable(),
  starSign: StarSignSchema.nullable(),
}
type BasicField = keyof typeof basics
const basicFields = Object.keys(basics) as BasicField[]

const settings = {
  units: UnitsSchema,
  chatsNotification: NotificationFrequencySchema,
  introsNotification: NotificationFrequencySchema,
  privacyVerificationLevel: VerificationLevelSchema,
  publicProfile: z.boolean(),
  showMyLocation: z.boolean(),
  showMyAge: z.boolean(),
  showMyLookingFor: z.boolean(),
  hideMeFromStrangers: z.boolean(),
  browseInvisibly: z.boolean(),
}

/**
 * Fields a tier must unlock, and the feature that unlocks each (the gold-only
 * fields). Which tiers have the feature is data in the tier table, not code.
 */
export const tierGatedFields = {
  name: 'goldProfileFields',
  showMyLocation: 'goldProfileFields',
  showMyAge: 'goldProfileFields',
  showMyLookingFor: 'goldProfileFields',
  hideMeFromStrangers: 'goldProfileFields',
  theme: 'goldProfileFields',
  browseInvisibly: 'invisibleBrowsing',
} as const satisfies Record<string, keyof Features>

/** The values tier-gated settings start at; setting one back to its default needs no feature. */
const gatedFieldDefaults = {
  showMyLocation: true,
  showMyAge: true,
  showMyLookingFor: true,
  hideMeFromStrangers: false,
  browseInvisibly: false,
  theme: null,
} as const

export const ProfilePatchSchema = z
  .object({
    name: NameSchema,
    about: AboutSchema.nullable(),
    occupation: ShortTextSchema,
    education: ShortTextSchema,
    heightCm: z.number().int().min(50).max(300).nullable(),
    gender: GenderSchema,
    location: z.string().min(1).max(200).openapi({ description: 'A place `label` from GET /api/v1/places' }),
    ...basics,
    ...settings,
    theme: ThemeSchema.nullable().openapi({ description: 'null restores the default colours' }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'Send at least one field' })
  .openapi('ProfilePatch', {
    minProperties: 1,
    description:
      'Any subset of the editable fields; all are checked before any is written. Tier-gated fields (name, the show-my-* and hide-me toggles, theme, browseInvisibly) answer 403 `tier_required` for tiers without the feature.',
  })
export type ProfilePatch = z.infer<typeof ProfilePatchSchema>

const VerificationSchema = z
  .object({
    level: VerificationLevelSchema,
    age: z.boolean(),
    gender: z.boolean(),
    ethnicity: z.boolean(),
  })
  .openapi('ProfileVerification')

const baseProfile = {
  id: z.uuid(),
  urlSlug: z.string(),
  name: z.string(),
  gender: GenderSchema,
  about: z.string().nullable(),
  occupation: z.string().nullable(),
  education: z.string().nullable(),
  heightCm: z.number().int().nullable(),
  ...basics,
  theme: ThemeSchema.nullable(),
  photos: z.array(PhotoSchema),
  voiceBio: VoiceBioSchema.nullable(),
  verification: VerificationSchema,
}

export const OwnProfileSchema = z
  .object({
    ...baseProfile,
    status: z.enum(['active', 'deactivated']),
    dateOfBirth: z.iso.date(),
    age: z.number().int(),
    location: z.object({ label: z.string(), shortLabel: z.string(), countryCode: z.string() }),
    ...settings,
    verificationRequired: z.boolean(),
    onboardedAt: z.iso.datetime(),
    shareId: z.string().openapi({
      description: 'My share link id: GET /api/v1/share/{shareId} shows my personality publicly',
    }),
  })
  .openapi('OwnProfile')
export type OwnProfile = z.infer<typeof OwnProfileSchema>

export const ProfileViewSchema = z
  .object({
    ...baseProfile,
    age: z.number().int().nullable().openapi({ description: 'null when the member hides their age' }),
    location: z.string().nullable().openapi({ description: 'Short place label; null when hidden' }),
    flair: FlairSchema,
    replyRates: ReplyRatesSchema,
    isSelf: z.boolean(),
  })
  .openapi('ProfileView')
export type ProfileView = z.infer<typeof ProfileViewSchema>

/**
 * The statement reading a profile row; with a viewer it also reads, in the same statement, what
 * the visibility rules need about the two of them (has the member skipped or messaged the viewer,
 * the viewer's verification level), so checking visibility costs no second round trip.
 */
function profileRowQuery(s: Services, where: SQL, viewerId: string | null) {
  const userIdOf = sql`${profiles.userId}`
  return s.database.db
    .select({
      profile: profiles,
      name: users.name,
      status: users.status,
      deletedAt: users.deletedAt,
      placeLabel: places.label,
      placeShortLabel: places.shortLabel,
      placeCountryCode: places.countryCode,
      flair: sql<string[] | string>`${flairExpression('profiles', s.config.flair.earlyAdopterCutoff)}`,
      skippedViewer: viewerId
        ? sql<boolean>`exists (select 1 from ${skips} where ${skips.subjectId} = ${userIdOf} and ${skips.objectId} = ${viewerId})`
        : sql<boolean>`false`,
      messagedViewer: viewerId
        ? sql<boolean>`exists (select 1 from ${messaged} where ${messaged.subjectId} = ${userIdOf} and ${messaged.objectId} = ${viewerId})`
        : sql<boolean>`false`,
      viewerLevel: viewerId
        ? sql<
            string | null
          >`(select viewer.verification_level from ${profiles} viewer where viewer.user_id = ${viewerId})`
        : sql<string | null>`null`,
    })
    .from(profiles)
    .innerJoin(users, eq(users.id, profiles.userId))
    .leftJoin(places, eq(places.id, profiles.placeId))
    .where(where)
}

async function loadProfileRow(s: Services, where: SQL, viewerId: string | null = null) {
  const [row] = await profileRowQuery(s, where, viewerId)
  return row
}
type ProfileRow = NonNullable<Awaited<ReturnType<typeof loadProfileRow>>>

function themeOf(p: ProfileRow['profile']) {
  return p.themeTitleColor && p.themeBodyColor && p.themeBackgroundColor
    ? { titleColor: p.themeTitleColor, bodyColor: p.themeBodyColor, backgroundColor: p.themeBackgroundColor }
    : null
}

async function mediaOf(s: Services, userId: string) {
  const [photoRows, voice] = await Promise.all([listPhotos(s, userId), getVoiceBio(s, userId)])
  return mediaView(s, photoRows, voice ?? null)
}

function mediaView(s: Services, photoRows: PhotoRow[], voice: VoiceBioRow | null) {
  return {
    photos: photoRows.map((p) => photoView(p, s.config)),
    voiceBio: voice ? voiceBioView(voice, s.config) : null,
  }
}

function commonView(row: ProfileRow) {
  const p = row.profile
  return {
    id: p.userId,
    urlSlug: p.urlSlug!,
    name: row.name ?? '',
    gender: p.gender!,
    about: p.about,
    occupation: p.occupation,
    education: p.education,
    heightCm: p.heightCm,
    ...(Object.fromEntries(basicFields.map((f) => [f, p[f]])) as {
      [K in BasicField]: ProfileRow['profile'][K]
    }),
    theme: themeOf(p),
    verification: {
      level: p.verificationLevel,
      age: p.verifiedAge,
      gender: p.verifiedGender,
      ethnicity: p.verifiedEthnicity,
    },
  }
}

/**
 * The caller's own profile with every field and setting.
 *
 * @example
 * const profile = await getOwnProfile(s, caller.userId, 'https://api.rapport.example')
 */
export async function getOwnProfile(s: Services, userId: string): Promise<OwnProfile> {
  const row = await loadProfileRow(s, eq(profiles.userId, userId))
  if (!row || !row.profile.onboardedAt) throw new ApiError('not_found', 'This account has no profile')
  const p = row.profile
  return {
    ...commonView(row),
    ...(await mediaOf(s, userId)),
    status: row.status === 'deactivated' ? 'deactivated' : 'active',
    dateOfBirth: p.dateOfBirth!,
    age: ageOn(p.dateOfBirth!, s.clock.now()),
    location: {
      label: row.placeLabel ?? '',
      shortLabel: row.placeShortLabel ?? '',
      countryCode: row.placeCountryCode ?? '',
    },
    ...(Object.fromEntries(Object.keys(settings).map((k) => [k, p[k as keyof typeof settings]])) as {
      [K in keyof typeof settings]: ProfileRow['profile'][K]
    }),
    verificationRequired: p.verificationRequired,
    onboardedAt: p.onboardedAt!.toISOString(),
    shareId: p.publicId,
  }
}

/**
 * Edit the caller's profile. Everything is validated first (text rules, place, tier features),
 * then written in one transaction, so a refused request changes nothing. Changing gender or
 * ethnicity drops the matching verified flag; a new name gets a new URL slug.
 *
 * @example
 * await updateOwnProfile(s, { userId, tierId }, { about: 'Gardener and amateur astronomer' })
 */
export async function updateOwnProfile(
  s: Services,
  caller: { userId: string; tierId: string | null },
  patch: ProfilePatch,
): Promise<OwnProfile> {
  const features = await tierFeatures(s, caller.tierId)
  // Going back to a default is always allowed, so a member whose tier lapsed can undo settings
  // (hidden age, hide-from-strangers, colours) they can no longer change otherwise.
  const locked = Object.entries(tierGatedFields).filter(
    ([field, feature]) =>
      field in patch &&
      !features[feature] &&
      patch[field as keyof ProfilePatch] !== gatedFieldDefaults[field as keyof typeof gatedFieldDefaults],
  )
  if (locked.length > 0) {
    throw new ApiError('tier_required', `Your tier cannot change: ${locked.map(([f]) => f).join(', ')}`, {
      errors: locked.map(([field, feature]) => ({
        path: `json.${field}`,
        message: `Needs a tier with the "${feature}" feature`,
      })),
    })
  }
  for (const field of ['name', 'about', 'occupation', 'education'] as const) {
    assertAcceptableText(field, patch[field], `json.${field}`)
  }
  let place: Awaited<ReturnType<typeof findPlaceByLabel>>
  if (patch.location !== undefined) {
    place = await findPlaceByLabel(s, patch.location)
    if (!place) throw fieldError('json.location', 'Pick a place from the place search')
  }

  const current = await loadProfileRow(s, eq(profiles.userId, caller.userId))
  if (!current || !current.profile.onboardedAt) throw new ApiError('not_found', 'This account has no profile')

  const { name, location: _location, theme, ...columns } = patch
  const changes: Partial<typeof profiles.$inferInsert> = { ...columns }
  if (patch.about !== undefined) changes.about = patch.about ? patch.about : null
  if (patch.gender !== undefined && patch.gender !== current.profile.gender) changes.verifiedGender = false
  if (patch.ethnicity !== undefined && patch.ethnicity !== current.profile.ethnicity) {
    changes.verifiedEthnicity = false
  }
  if (place) {
    Object.assign(changes, { placeId: place.id, latitude: place.latitude, longitude: place.longitude })
    // Moving to a place where fake sign-ups cluster requires verification (a fake sign-up is then cheap to stop).
    if (place.verificationRequired) changes.verificationRequired = true
  }
  if (theme !== undefined) {
    changes.themeTitleColor = theme?.titleColor ?? null
    changes.themeBodyColor = theme?.bodyColor ?? null
    changes.themeBackgroundColor = theme?.backgroundColor ?? null
  }

  const now = s.clock.now()
  // The slug goes first: it is the one step that can still be refused (409 when every candidate
  // is taken), and then nothing else has been written. The rest is one transaction.
  if (name !== undefined) await assignUrlSlug(s, caller.userId, name)
  const db = s.database.db
  // The feed shows what a bio edit added (nothing when it only removed text).
  const bioAddition =
    patch.about !== undefined ? addedText(current.profile.about, changes.about ?? null) : null
  await db.batch([
    db
      .update(profiles)
      .set({ ...changes, updatedAt: now })
      .where(eq(profiles.userId, caller.userId)),
    ...(bioAddition
      ? [
          db
            .insert(feedEvents)
            .values({ userId: caller.userId, kind: 'updated-bio', at: now, addedText: bioAddition }),
        ]
      : []),
    ...(name !== undefined
      ? [db.update(users).set({ name, updatedAt: now }).where(eq(users.id, caller.userId))]
      : []),
  ])
  if (changes.verifiedGender === false) await refreshVerificationLevel(s, caller.userId)
  if (name !== undefined) await forgetAccount(s, caller.userId)
  return getOwnProfile(s, caller.userId)
}

const levelRank = (level: (typeof verificationLevelValues)[number]) => verificationLevelValues.indexOf(level)

/** What `idOrSlug` names: a member id (uuid) or a URL slug (slugs never look like ids). */
function profileKey(idOrSlug: string) {
  return isUuid(idOrSlug)
    ? eq(profiles.userId, idOrSlug.toLowerCase())
    : eq(profiles.urlSlug, idOrSlug.toLowerCase())
}

/**
 * The profile row behind `idOrSlug` if `viewer` (null = anonymous) may see it, else the error
 * they get (shared by every route that shows something of another member). The
 * rules, in order: self-view always works; the profile must be live (onboarded, active, not
 * deleted; a shadow-banned profile stays reachable by direct link); anonymous visitors see
 * only public profiles, and not those hiding from strangers or asking for any verification
 * (an anonymous visitor is both a stranger and unverified); a member who skipped the viewer is hidden from them; "hide me from
 * strangers" hides the profile from anyone the member has not messaged; a viewer whose
 * verification is below the member's privacy level is refused (403 `verification_required`)
 * unless the member has messaged them. Every other refusal is a 404, exactly like an unknown
 * id, so a hidden profile's existence does not leak.
 *
 * @example
 * const row = await visibleProfileRow(s, { userId: caller.userId }, 'alex-7')
 */
export async function visibleProfileRow(
  s: Services,
  viewer: { userId: string } | null,
  idOrSlug: string,
): Promise<ProfileRow> {
  return checkVisible(await loadProfileRow(s, profileKey(idOrSlug), viewer?.userId ?? null), viewer)
}

/** {@link visibleProfileRow}'s rules over a row read with the viewer's relation columns. */
function checkVisible(row: ProfileRow | undefined, viewer: { userId: string } | null): ProfileRow {
  const notFound = () => new ApiError('not_found', 'No such profile')
  if (!row || !row.profile.onboardedAt || row.deletedAt) throw notFound()
  const p = row.profile
  const isSelf = viewer?.userId === p.userId

  if (!isSelf) {
    if (row.status !== 'active') throw notFound()
    if (!viewer) {
      // Anonymous visitors are the strangest of strangers and verified at no level.
      if (!p.publicProfile || p.hideMeFromStrangers || p.privacyVerificationLevel !== 'none') throw notFound()
    } else {
      if (row.skippedViewer) throw notFound()
      if (p.hideMeFromStrangers && !row.messagedViewer) throw notFound()
      const viewerLevel = (row.viewerLevel ?? 'none') as (typeof verificationLevelValues)[number]
      if (levelRank(viewerLevel) < levelRank(p.privacyVerificationLevel) && !row.messagedViewer) {
        throw new ApiError(
          'verification_required',
          `This member shows their profile to people verified at level "${p.privacyVerificationLevel}" or above`,
        )
      }
    }
  }
  return row
}

/**
 * Another member's profile as `viewer` may see it (null viewer = anonymous), under the rules of
 * {@link visibleProfileRow}.
 *
 * @example
 * const profile = await viewProfile(s, { userId: caller.userId }, 'alex-7')
 */
export async function viewProfile(
  s: Services,
  viewer: { userId: string } | null,
  idOrSlug: string,
): Promise<ProfileView> {
  return (await viewProfilePage(s, viewer, idOrSlug, null)).view
}

/**
 * The profile page: {@link viewProfile}, the member's clubs as the viewer sees them, and — for a
 * `visitor` (an active member viewing someone else) — the visit recorded and the visitor's row as
 * the member's visitor list now shows it (for the live push). One Postgres round trip whoever
 * asks: the row with the viewer's relation, photos, voice bio, clubs, the visit upsert and the
 * visitor row go in one HTTP batch (one transaction). The upsert repeats the visibility rules in its WHERE
 * clause, so a profile the viewer may not see records no visit, exactly as when it ran after the
 * check. Reply rates come from their cache (Postgres only on a miss), once the profile is known
 * to be visible. `visit` is null when no visit was recorded.
 *
 * @example
 * const { view, clubs, visit } = await viewProfilePage(s, { userId }, 'alex-7', { userId, tierId })
 */
export async function viewProfilePage(
  s: Services,
  viewer: { userId: string } | null,
  idOrSlug: string,
  visitor: { userId: string; tierId: string | null } | null,
): Promise<{
  view: ProfileView
  clubs: Awaited<ReturnType<typeof clubsOf>>
  visit: { invisible: boolean } | null
  visitorRow: Visit | null
}> {
  const key = profileKey(idOrSlug)
  // The member the key names, inside each statement: a slug is resolved by the statement itself.
  const ownerId = isUuid(idOrSlug)
    ? sql`${idOrSlug.toLowerCase()}::uuid`
    : sql`(select ${profiles.userId} from ${profiles} where ${profiles.urlSlug} = ${idOrSlug.toLowerCase()})`
  const db = s.database.db
  const reads = [
    profileRowQuery(s, key, viewer?.userId ?? null),
    db.select().from(photos).where(eq(photos.userId, ownerId)).orderBy(asc(photos.position)),
    db.select().from(voiceBios).where(eq(voiceBios.userId, ownerId)),
    clubsOfQuery(s, ownerId, viewer?.userId ?? null),
  ] as const
  const visit = visitor
    ? recordVisitIfVisibleQuery(
        s,
        visitor.userId,
        key,
        (await tierFeatures(s, visitor.tierId)).invisibleBrowsing,
      )
    : db.execute<{ invisible: boolean }>(sql`select true as invisible where false`)
  // What the member's visitor list now shows of the visitor, for the live push (read after the
  // upsert, in the same transaction). Without a visitor it reads nothing.
  const visitorEntry = visitorRowQuery(s, visitor ? ownerId : sql`null::uuid`, visitor?.userId ?? NIL_UUID)
  const batch = db.batch([...reads, visit, visitorEntry])
  // With an id, the reply rates' cache read runs while the batch is in flight; they are computed
  // on a miss only once the profile is known to be visible (with a slug the member is known only
  // after the batch).
  let settleVisible!: (visible: boolean) => void
  const visible = new Promise<boolean>((resolve) => (settleVisible = resolve))
  const early = isUuid(idOrSlug) ? replyRates(s, idOrSlug.toLowerCase(), visible) : null
  let row: ProfileRow
  let batched
  try {
    batched = await batch
    row = checkVisible(batched[0][0], viewer)
  } catch (err) {
    settleVisible(false)
    // Nothing this request started may outlive it.
    await early
    throw err
  }
  settleVisible(true)
  const [, photoRows, [voice], clubRows, visitRows, visitorRows] = batched
  const p = row.profile
  const isSelf = viewer?.userId === p.userId
  const view = commonView(row)
  const rates = await (early ?? replyRates(s, p.userId))
  const visitRow = visitRows.rows[0]
  return {
    view: {
      ...view,
      ...mediaView(s, photoRows, voice ?? null),
      replyRates: rates,
      lookingFor: p.showMyLookingFor || isSelf ? view.lookingFor : null,
      age: p.showMyAge || isSelf ? ageOn(p.dateOfBirth!, s.clock.now()) : null,
      location: p.showMyLocation || isSelf ? row.placeShortLabel : null,
      flair: textArray(row.flair),
      isSelf,
    },
    clubs: clubRows,
    visit: visitRow ? { invisible: Boolean(visitRow.invisible) } : null,
    visitorRow: visitorRowFrom(s, visitorRows),
  }
}
