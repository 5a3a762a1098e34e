import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  check,
  foreignKey,
  index,
  integer,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core'
import { users } from './accounts'

/**
 * Chat's system of record (docs/chat-protocol.md). The Conversation Durable Object serializes
 * writes for a pair, but every acknowledged message is here first, so a Durable Object that
 * loses its memory loses nothing. A pair is stored once, `member_a < member_b`.
 */

export const conversations = pgTable(
  'conversations',
  {
    memberA: uuid('member_a')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    memberB: uuid('member_b')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The last sequence number handed out; the next message gets `last_seq + 1`. */
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.memberA, t.memberB] }),
    index('conversations_member_b_idx').on(t.memberB),
    check('conversations_order', sql`${t.memberA} < ${t.memberB}`),
  ],
)

/**
 * One row per message, shared by both members. `client_id` is the sender's idempotency key:
 * a resend with the same key finds this row instead of creating another. A shadow-banned
 * sender's messages are `hidden_from_recipient`: stored and shown only on their side.
 */
export const messages = pgTable(
  'messages',
  {
    memberA: uuid('member_a').notNull(),
    memberB: uuid('member_b').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    senderId: uuid('sender_id').notNull(),
    clientId: text('client_id').notNull(),
    body: text('body').notNull(),
    /** A voice message's object key in the audio bucket. */
    audioKey: text('audio_key'),
    isIntro: boolean('is_intro').notNull().default(false),
    hiddenFromRecipient: boolean('hidden_from_recipient').notNull().default(false),
    /** The recipient's one emoji reaction. */
    reaction: text('reaction'),
    reactedAt: timestamp('reacted_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.memberA, t.memberB, t.seq] }),
    foreignKey({
      columns: [t.memberA, t.memberB],
      foreignColumns: [conversations.memberA, conversations.memberB],
      name: 'messages_conversation_fk',
    }).onDelete('cascade'),
    uniqueIndex('messages_client_id_key').on(t.memberA, t.memberB, t.senderId, t.clientId),
    index('messages_audio_key_idx')
      .on(t.audioKey)
      .where(sql`${t.audioKey} is not null`),
    check('messages_body_length', sql`char_length(${t.body}) <= 5000`),
    check('messages_client_id_length', sql`char_length(${t.clientId}) between 1 and 128`),
    check('messages_sender', sql`${t.senderId} in (${t.memberA}, ${t.memberB})`),
  ],
)

/** Intros are first messages to someone who has not messaged you; chats are the rest. */
export const inboxBox = pgEnum('inbox_box', ['intros', 'chats'])

/**
 * A member's view of one conversation: which box it sits in, the last message, unread count
 * and how far they have read. Written in the same transaction as the message.
 */
export const inboxEntries = pgTable(
  'inbox_entries',
  {
    ownerId: uuid('owner_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    peerId: uuid('peer_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    box: inboxBox('box').notNull(),
    lastSeq: bigint('last_seq', { mode: 'number' }).notNull(),
    lastSenderId: uuid('last_sender_id').notNull(),
    lastBody: text('last_body').notNull(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull(),
    unreadCount: integer('unread_count').notNull().default(0),
    /** The highest sequence number the owner has read. */
    readSeq: bigint('read_seq', { mode: 'number' }).notNull().default(0),
    readAt: timestamp('read_at', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.ownerId, t.peerId] }),
    index('inbox_entries_owner_last_idx').on(t.ownerId, t.lastAt.desc()),
    index('inbox_entries_unread_idx')
      .on(t.lastAt, t.ownerId)
      .where(sql`${t.unreadCount} > 0`),
    check('inbox_entries_unread', sql`${t.unreadCount} >= 0`),
  ],
)

/**
 * How often each normalised intro text has been used anywhere (the uniqueness rule). Only the
 * hash is kept, never the text.
 */
export const introHashes = pgTable('intro_hashes', {
  hash: text('hash').primaryKey(),
  usedCount: integer('used_count').notNull().default(0),
  lastUsedAt: timestamp('last_used_at', { withTimezone: true }).notNull().defaultNow(),
})
