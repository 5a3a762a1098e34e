import { sql } from 'drizzle-orm'
import {
  bigint,
  bigserial,
  boolean,
  check,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  primaryKey,
  real,
  serial,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './accounts'
import { jobs } from './jobs'

/**
 * Profiles, media and the relations the profile rules read. The value lists are stable
 * kebab-case codes (clients own the wording); `null` means "Unanswered".
 */

export const genderValues = [
  'man',
  'woman',
  'agender',
  'intersex',
  'non-binary',
  'transgender',
  'trans-woman',
  'trans-man',
  'other',
] as const
export const orientationValues = [
  'straight',
  'gay',
  'lesbian',
  'bisexual',
  'asexual',
  'demisexual',
  'pansexual',
  'other',
] as const
export const ethnicityValues = [
  'black-african-descent',
  'east-asian',
  'hispanic-latino',
  'middle-eastern',
  'native-american',
  'pacific-islander',
  'south-asian',
  'southeast-asian',
  'white-caucasian',
  'other',
] as const
export const lookingForValues = ['friends', 'short-term-dating', 'long-term-dating', 'marriage'] as const
export const yesNoValues = ['yes', 'no'] as const
export const yesNoMaybeValues = ['yes', 'no', 'maybe'] as const
export const frequencyValues = ['often', 'sometimes', 'never'] as const
export const relationshipStatusValues = [
  'single',
  'seeing-someone',
  'engaged',
  'married',
  'divorced',
  'widowed',
  'other',
] as const
export const religionValues = [
  'agnostic',
  'atheist',
  'buddhist',
  'christian',
  'hindu',
  'jewish',
  'muslim',
  'zoroastrian',
  'other',
] as const
export const starSignValues = [
  'aquarius',
  'aries',
  'cancer',
  'capricorn',
  'gemini',
  'leo',
  'libra',
  'pisces',
  'sagittarius',
  'scorpio',
  'taurus',
  'virgo',
] as const
export const unitsValues = ['metric', 'imperial'] as const
export const notificationFrequencyValues = [
  'immediately',
  'daily',
  'every-3-days',
  'weekly',
  'never',
] as const
/** Ordered: a viewer "meets" a level when theirs is at or above it. */
export const verificationLevelValues = ['none', 'basics', 'photos'] as const

export const gender = pgEnum('gender', genderValues)
export const orientation = pgEnum('orientation', orientationValues)
export const ethnicity = pgEnum('ethnicity', ethnicityValues)
export const lookingFor = pgEnum('looking_for', lookingForValues)
export const yesNo = pgEnum('yes_no', yesNoValues)
export const yesNoMaybe = pgEnum('yes_no_maybe', yesNoMaybeValues)
export const frequency = pgEnum('frequency', frequencyValues)
export const relationshipStatus = pgEnum('relationship_status', relationshipStatusValues)
export const religion = pgEnum('religion', religionValues)
export const starSign = pgEnum('star_sign', starSignValues)
export const units = pgEnum('units', unitsValues)
export const notificationFrequency = pgEnum('notification_frequency', notificationFrequencyValues)
export const verificationLevel = pgEnum('verification_level', verificationLevelValues)

/**
 * Places people live, from a world-cities dataset (scripts/seed-places.ts). `label` is the
 * unique human form ("Sydney, New South Wales, Australia") that onboarding must match exactly;
 * `search_key` (lower-cased, accents stripped) carries the trigram index for prefix search.
 */
export const places = pgTable(
  'places',
  {
    id: serial('id').primaryKey(),
    name: text('name').notNull(),
    region: text('region'),
    country: text('country').notNull(),
    countryCode: text('country_code').notNull(),
    label: text('label').notNull(),
    shortLabel: text('short_label').notNull(),
    searchKey: text('search_key').notNull(),
    latitude: doublePrecision('latitude').notNull(),
    longitude: doublePrecision('longitude').notNull(),
    population: integer('population').notNull().default(0),
    /** Places where sign-ups are mostly fake: choosing one requires verification (a fake sign-up is then cheap to stop). */
    verificationRequired: boolean('verification_required').notNull().default(false),
  },
  (t) => [
    uniqueIndex('places_label_key').on(t.label),
    index('places_search_key_trgm_idx').using('gin', sql`${t.searchKey} gin_trgm_ops`),
    // Prefix matches (one- and two-letter queries) use this rather than the trigram index.
    index('places_search_key_prefix_idx').using('btree', sql`${t.searchKey} text_pattern_ops`),
    check('places_latitude', sql`${t.latitude} between -90 and 90`),
    check('places_longitude', sql`${t.longitude} between -180 and 180`),
  ],
)

/**
 * A member's profile, one row per account. It is the onboarding draft while `onboarded_at` is
 * null (filled one field at a time) and the live profile after. The display name is
 * `users.name`. Coordinates are copied from the place so search never joins `places`.
 */
export const profiles = pgTable(
  'profiles',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    urlSlug: text('url_slug'),
    dateOfBirth: date('date_of_birth', { mode: 'string' }),
    placeId: integer('place_id').references(() => places.id, { onDelete: 'set null' }),
    latitude: doublePrecision('latitude'),
    longitude: doublePrecision('longitude'),
    gender: gender('gender'),
    /** Onboarding's "genders I want to meet"; finishing copies it into the search preferences. */
    seekingGenders: gender('seeking_genders').array(),
    about: text('about'),
    occupation: text('occupation'),
    education: text('education'),
    heightCm: smallint('height_cm'),
    orientation: orientation('orientation'),
    ethnicity: ethnicity('ethnicity'),
    lookingFor: lookingFor('looking_for'),
    smoking: yesNo('smoking'),
    drinking: frequency('drinking'),
    drugs: yesNo('drugs'),
    longDistance: yesNo('long_distance'),
    relationshipStatus: relationshipStatus('relationship_status'),
    hasKids: yesNo('has_kids'),
    wantsKids: yesNoMaybe('wants_kids'),
    exercise: frequency('exercise'),
    religion: religion('religion'),
    starSign: starSign('star_sign'),
    units: units('units').notNull().default('metric'),
    chatsNotification: notificationFrequency('chats_notification').notNull().default('immediately'),
    introsNotification: notificationFrequency('intros_notification').notNull().default('daily'),
    /** The verification a viewer needs to see this profile (the member's privacy level). */
    privacyVerificationLevel: verificationLevel('privacy_verification_level').notNull().default('none'),
    showMyLocation: boolean('show_my_location').notNull().default(true),
    showMyAge: boolean('show_my_age').notNull().default(true),
    showMyLookingFor: boolean('show_my_looking_for').notNull().default(true),
    hideMeFromStrangers: boolean('hide_me_from_strangers').notNull().default(false),
    browseInvisibly: boolean('browse_invisibly').notNull().default(false),
    publicProfile: boolean('public_profile').notNull().default(false),
    themeTitleColor: text('theme_title_color'),
    themeBodyColor: text('theme_body_color'),
    themeBackgroundColor: text('theme_background_color'),
    verificationLevel: verificationLevel('verification_level').notNull().default('none'),
    verifiedAge: boolean('verified_age').notNull().default(false),
    verifiedGender: boolean('verified_gender').notNull().default(false),
    verifiedEthnicity: boolean('verified_ethnicity').notNull().default(false),
    /** Set by moderation (bot-like reports, risky places): blocks chat and search until verified. */
    verificationRequired: boolean('verification_required').notNull().default(false),
    shadowBannedAt: timestamp('shadow_banned_at', { withTimezone: true }),
    /**
     * Search's copy of facts held elsewhere, kept by database triggers (migration 0020) so other
     * members' searches read them from one narrow index instead of a lookup per candidate:
     * whether the member shows a photo (a `photos` row at a position > 0), and their
     * `search_preferences` mutual conditions (null without a preferences row).
     */
    hasPhoto: boolean('has_photo').notNull().default(false),
    wantsGenders: gender('wants_genders').array(),
    wantsMinAge: smallint('wants_min_age'),
    wantsMaxAge: smallint('wants_max_age'),
    wantsMaxDistanceKm: integer('wants_max_distance_km'),
    /**
     * The search ranking's tier: 2 for a photo + 1 for a verification (3 ranks first). One
     * integer so both search indexes can hold it as a key (a boolean is not searchable in GiST).
     */
    searchTier: smallint('search_tier').generatedAlwaysAs(
      sql`(case when has_photo then 2 else 0 end + case when verification_level <> 'none' then 1 else 0 end)`,
    ),
    /**
     * Personality (docs/personality.md §5): per-trait presence/absence sums over the member's
     * answers, the number of yes/no answers, and the weighted unit vector (traits + 1 values)
     * used for match %. Null until the first answer.
     */
    personality: real('personality').array(),
    presenceScore: real('presence_score').array(),
    absenceScore: real('absence_score').array(),
    answerCount: integer('answer_count').notNull().default(0),
    /** When the last unread-intros / unread-chats email went out (notifications cron). */
    introsNotifiedAt: timestamp('intros_notified_at', { withTimezone: true }),
    chatsNotifiedAt: timestamp('chats_notified_at', { withTimezone: true }),
    /** When the member last looked at their visitors: later visits are "new". */
    visitorsCheckedAt: timestamp('visitors_checked_at', { withTimezone: true }),
    onboardedAt: timestamp('onboarded_at', { withTimezone: true }),
    /**
     * The member's latest activity-feed event: when, and which `feed_events` row (null = they
     * joined, at `onboarded_at`). Kept by database triggers on `feed_events`.
     */
    lastEventAt: timestamp('last_event_at', { withTimezone: true }),
    lastEventId: bigint('last_event_id', { mode: 'number' }),
    /** Flair an admin granted (shown with the computed flair). */
    flair: text('flair')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /**
     * The share-link id: 12 random base-62 characters (about 71 bits), never derived from the
     * account id, so links cannot be enumerated.
     */
    publicId: text('public_id')
      .notNull()
      .default(sql`random_public_id()`),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('profiles_url_slug_key').on(t.urlSlug),
    uniqueIndex('profiles_public_id_key').on(t.publicId),
    // The feed's candidates: the newest events first.
    // With the id, so the feed's (time, id) order and cursor read from the index alone.
    index('profiles_last_event_idx')
      .on(t.lastEventAt, t.userId)
      .where(sql`${t.onboardedAt} is not null and ${t.shadowBannedAt} is null`),
    index('profiles_onboarding_created_idx')
      .on(t.createdAt)
      .where(sql`${t.onboardedAt} is null`),
    check('profiles_about_length', sql`char_length(${t.about}) <= 10000`),
    check('profiles_height', sql`${t.heightCm} between 50 and 300`),
    check(
      'profiles_theme_colors',
      sql`${t.themeTitleColor} ~ '^#[0-9a-f]{6}$' and ${t.themeBodyColor} ~ '^#[0-9a-f]{6}$' and ${t.themeBackgroundColor} ~ '^#[0-9a-f]{6}$'`,
    ),
  ],
)

/**
 * Search preferences, one row per member, created with defaults when onboarding finishes
 * (discovery issue adds the remaining filters). `max_distance_km` null = anywhere.
 */
export const searchPreferences = pgTable(
  'search_preferences',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    genders: gender('genders').array().notNull(),
    minAge: smallint('min_age').notNull(),
    maxAge: smallint('max_age').notNull(),
    maxDistanceKm: integer('max_distance_km'),
    /**
     * The one-way filters (orientation, ethnicity, height, has photo, the basics, messaged,
     * skipped, club …) as one validated JSON object: only the searcher reads them, so they never
     * need an index. The mutual conditions above stay columns because other people's searches
     * read them.
     */
    filters: jsonb('filters').notNull().default({}),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check(
      'search_preferences_ages',
      sql`${t.minAge} between 18 and 99 and ${t.maxAge} between ${t.minAge} and 99`,
    ),
    check('search_preferences_distance', sql`${t.maxDistanceKm} > 0`),
  ],
)

/**
 * Up to seven photos per member. `id` is 32 random bytes in hex and names the R2 objects
 * (`original-<id>.jpg`, `900-<id>.jpg`, `450-<id>.jpg`, and `<id>.gif` for GIFs); ids are never
 * reused, so objects are immutable. `content_hash` (SHA-256 of the uploaded bytes) lets a
 * moderator's "delete photo" block the same file from coming back.
 */
export const photos = pgTable(
  'photos',
  {
    id: text('id').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    position: smallint('position').notNull(),
    blurhash: text('blurhash').notNull(),
    width: integer('width').notNull(),
    height: integer('height').notNull(),
    isGif: boolean('is_gif').notNull().default(false),
    contentHash: text('content_hash').notNull(),
    verified: boolean('verified').notNull().default(false),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Checked row by row, so a reorder first moves the photos it touches to their negated target
    // positions and then flips the signs (moving through negative values), never colliding midway.
    uniqueIndex('photos_user_position_key').on(t.userId, t.position),
    check('photos_position', sql`${t.position} between -7 and 7 and ${t.position} <> 0`),
    check('photos_id', sql`${t.id} ~ '^[0-9a-f]{64}$'`),
  ],
)

/** One voice bio per member, stored as uploaded under `<id>.<ext>` in the audio bucket. */
export const voiceBios = pgTable(
  'voice_bios',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    id: text('id').notNull(),
    objectKey: text('object_key').notNull(),
    contentType: text('content_type').notNull(),
    codec: text('codec').notNull(),
    durationMs: integer('duration_ms').notNull(),
    bytes: integer('bytes').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('voice_bios_id_key').on(t.id), check('voice_bios_id', sql`${t.id} ~ '^[0-9a-f]{64}$'`)],
)

export const storageBucket = pgEnum('storage_bucket', ['images', 'audio'])

/**
 * R2 objects to delete. Filled by triggers (migrations/0004) whenever a photo, voice bio or
 * verification selfie row is deleted or its object replaced, including through cascades when an
 * account is deleted, so no code path can forget; drained by the storage clean-up cron.
 */
export const storageDeletions = pgTable(
  'storage_deletions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    bucket: storageBucket('bucket').notNull(),
    objectKey: text('object_key').notNull(),
    queuedAt: timestamp('queued_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('storage_deletions_object_key').on(t.bucket, t.objectKey)],
)

/** SHA-256 of photos a moderator deleted: the same file cannot be uploaded again. */
export const bannedPhotoHashes = pgTable('banned_photo_hashes', {
  hash: text('hash').primaryKey(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})

export const verificationStatus = pgEnum('verification_status', [
  'uploading-photo',
  'queued',
  'running',
  'success',
  'failure',
])

/**
 * A member's selfie verification (one live attempt each; a new selfie replaces it). The selfie
 * is stored as `450-<selfie_id>.jpg` in the images bucket; `selfie_hash` is unique across
 * members so one face photo cannot verify two accounts.
 */
export const verifications = pgTable(
  'verifications',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    status: verificationStatus('status').notNull().default('uploading-photo'),
    selfieId: text('selfie_id').notNull(),
    selfieHash: text('selfie_hash').notNull(),
    message: text('message'),
    jobId: uuid('job_id').references(() => jobs.id, { onDelete: 'set null' }),
    /** The model's probabilities, kept for support questions. */
    result: jsonb('result'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [
    index('verifications_expires_idx').on(t.expiresAt),
    // The storage clean-up asks whether a queued selfie object is still referenced.
    index('verifications_selfie_idx').on(t.selfieId),
    check('verifications_selfie_id', sql`${t.selfieId} ~ '^[0-9a-f]{64}$'`),
  ],
)

/**
 * Every selfie hash ever used, and by whom: another member's selfie is refused. Kept (with the
 * owner cleared) when the account is deleted, so a deleted account's selfie cannot verify a new one.
 */
export const selfieHashes = pgTable('selfie_hashes', {
  hash: text('hash').primaryKey(),
  userId: uuid('user_id').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})

/** The two ends of a directed relation between members; either account's deletion removes it. */
export const memberPair = () => ({
  subjectId: uuid('subject_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  objectId: uuid('object_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
})

/**
 * `subject` skipped (hid) `object`; with a reason it is also a report. Read both ways: a skip
 * in either direction hides each from the other. Routes come with the discovery issue.
 */
export const skips = pgTable(
  'skips',
  {
    ...memberPair(),
    reported: boolean('reported').notNull().default(false),
    reportReason: text('report_reason'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.subjectId, t.objectId] }),
    index('skips_object_idx').on(t.objectId, t.subjectId),
    index('skips_reported_object_idx')
      .on(t.objectId, t.createdAt)
      .where(sql`${t.reported}`),
  ],
)

/** `subject` has sent `object` at least one message (written by chat). */
export const messaged = pgTable(
  'messaged',
  {
    ...memberPair(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.subjectId, t.objectId] }),
    index('messaged_object_idx').on(t.objectId, t.subjectId),
  ],
)
