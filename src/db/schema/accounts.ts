import { sql } from 'drizzle-orm'
import {
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'

const timestamps = {
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
}

export const userRole = pgEnum('user_role', ['member', 'moderator', 'admin', 'bot'])
export type Role = (typeof userRole.enumValues)[number]
/** onboarding → active; active ⇄ deactivated (by the member, an admin, or inactivity). */
export const userStatus = pgEnum('user_status', ['onboarding', 'active', 'deactivated'])
export type UserStatus = (typeof userStatus.enumValues)[number]

/** Tiers (the boilerplate's): every member has one; limits and features hang off it (platform issue). */
export const tiers = pgTable('tiers', {
  id: uuid('id').primaryKey().defaultRandom(),
  name: text('name').notNull().unique(),
  /** Per-tier overrides of the feature table in src/services/tiers (e.g. {"clubQuota": 100}). */
  features: jsonb('features')
    .notNull()
    .default(sql`'{}'::jsonb`),
  ...timestamps,
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

export const rateLimitAlgorithm = pgEnum('rate_limit_algorithm', ['fixed', 'sliding'])

/**
 * A tier's limit for one route template (`POST /api/v1/search`: `/x/1` and `/x/2` share it — the
 * boilerplate keyed raw paths). Routes without a rule use DEFAULT_RATE_LIMIT_LIMIT/PERIOD.
 */
export const rateLimitRules = pgTable(
  'rate_limit_rules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tierId: uuid('tier_id')
      .notNull()
      .references(() => tiers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    route: text('route').notNull(),
    limit: integer('limit').notNull(),
    periodSeconds: integer('period_seconds').notNull(),
    algorithm: rateLimitAlgorithm('algorithm').notNull().default('fixed'),
    ...timestamps,
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('rate_limit_rules_tier_route_key').on(t.tierId, t.route),
    uniqueIndex('rate_limit_rules_tier_name_key').on(t.tierId, t.name),
    check('rate_limit_rules_limit_positive', sql`${t.limit} > 0`),
    check('rate_limit_rules_period_positive', sql`${t.periodSeconds} > 0`),
  ],
)

/**
 * Everyone who can hold a session: members (email one-time passwords) and operators
 * (username + password, roles moderator/admin). `email` is normalised (src/services/accounts/email.ts) so one
 * person cannot hold two accounts by spelling; `emailDisplay` keeps what they typed.
 */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    emailDisplay: text('email_display').notNull(),
    username: text('username'),
    name: text('name'),
    role: userRole('role').notNull().default('member'),
    status: userStatus('status').notNull().default('onboarding'),
    passwordHash: text('password_hash'),
    tierId: uuid('tier_id').references(() => tiers.id, { onDelete: 'set null' }),
    signInCount: integer('sign_in_count').notNull().default(0),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    lastOnlineAt: timestamp('last_online_at', { withTimezone: true }).notNull().defaultNow(),
    deactivatedAt: timestamp('deactivated_at', { withTimezone: true }),
    deactivationReason: text('deactivation_reason'),
    /** Set when the inactivity email went out, so it is never sent twice for one deactivation. */
    inactivityNotifiedAt: timestamp('inactivity_notified_at', { withTimezone: true }),
    /** Soft delete by an admin: hidden from every read, sessions revoked, restorable. */
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    ...timestamps,
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('users_email_key').on(t.email),
    uniqueIndex('users_username_key').on(t.username),
    // With the id, so the feed's (time, id) order and cursor read from the index alone.
    index('users_status_last_online_idx').on(t.status, t.lastOnlineAt, t.id),
    check('users_username_format', sql`${t.username} ~ '^[a-z0-9_]{2,30}$'`),
    check(
      'users_deactivation_reason',
      sql`${t.deactivationReason} is null or ${t.deactivationReason} in ('user', 'inactivity', 'admin', 'banned')`,
    ),
  ],
)

/**
 * A pending email sign-in. The code is stored only as an HMAC (keyed with the server secret, so
 * a database leak does not hand out a 10^6-entry lookup table), single use, ten minutes, and
 * dead after five wrong guesses.
 */
export const signInChallenges = pgTable(
  'sign_in_challenges',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    email: text('email').notNull(),
    emailDisplay: text('email_display').notNull(),
    codeHash: text('code_hash').notNull(),
    attempts: integer('attempts').notNull().default(0),
    sends: integer('sends').notNull().default(1),
    ip: text('ip').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    /** Public-quiz answers given before signing up, applied at sign-in (src/services/accounts/sign-up-quiz.ts). */
    answers: jsonb('answers'),
    /** A club to join once signed in (an invite link followed before signing up). */
    pendingClub: text('pending_club'),
    ...timestamps,
  },
  (t) => [index('sign_in_challenges_expires_idx').on(t.expiresAt)],
)

/**
 * One signed-in device. The access token carries its id (`sid`), so revoking the row (and its
 * Redis marker) stops that token at once. Refresh tokens rotate inside a session; replaying a
 * rotated one revokes the whole session (RFC 9700 §4.14.2).
 */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    client: text('client').notNull().default('mobile'),
    device: text('device'),
    ip: text('ip').notNull(),
    ...timestamps,
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
    revokedReason: text('revoked_reason'),
  },
  (t) => [
    index('sessions_user_idx').on(t.userId, t.lastSeenAt),
    index('sessions_expires_idx').on(t.expiresAt),
    check('sessions_client', sql`${t.client} in ('web', 'mobile')`),
  ],
)

/** Every refresh token ever issued for a live session, by hash; `rotatedAt` marks used ones. */
export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    issuedAt: timestamp('issued_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    rotatedAt: timestamp('rotated_at', { withTimezone: true }),
  },
  (t) => [
    index('refresh_tokens_session_idx').on(t.sessionId),
    index('refresh_tokens_expires_idx').on(t.expiresAt),
  ],
)

export const banKind = pgEnum('ban_kind', ['email', 'ip'])

/** Bans by normalised email or by IP, optionally expiring; lifted bans are kept for the record. */
export const bans = pgTable(
  'bans',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: banKind('kind').notNull(),
    value: text('value').notNull(),
    reason: text('reason').notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    liftedAt: timestamp('lifted_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index('bans_lookup_idx').on(t.kind, t.value)],
)

/** Single-use capability to download one's data export: ten minutes, hashed at rest. */
export const exportTokens = pgTable(
  'export_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    ...timestamps,
  },
  (t) => [index('export_tokens_user_idx').on(t.userId)],
)
