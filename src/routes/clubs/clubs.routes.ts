import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { pageSchema, paginationQuery } from '../../lib/http/pagination'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { publicCache } from '../../middleware/http-cache'
import {
  ClubNameSchema,
  ClubSchema,
  ClubSearchRowSchema,
  maxClubNameLength,
  publicClubsTtlSeconds,
} from '../../services/clubs/clubs'

const tags = ['Clubs']
const security = [{ bearerAuth: [] }]

const JoinedClubSchema = ClubSchema.extend({
  joined: z.boolean().openapi({ description: 'false when I was already in it' }),
}).openapi('JoinedClub')

/** A search term: trimmed and lower-cased like club names; longer than any name is refused. */
const searchTerm = z
  .string()
  .max(200)
  .transform((q) => q.trim().toLowerCase())
  .pipe(z.string().max(maxClubNameLength, `At most ${maxClubNameLength} characters`))

export const joinClub = createRoute({
  method: 'post',
  path: '/api/v1/me/clubs',
  operationId: 'joinClub',
  tags,
  summary: 'Join a club (creating it when new)',
  description:
    "Names are trimmed and lower-cased: words of letters, digits and / # ' \" : _ - separated by single spaces, at most 42 characters, not rude and not close to a banned name (422 on `json.name`). Joining a club I am in changes nothing (200). The number of clubs is capped by my tier's `clubQuota` (403 `club_quota_exceeded`).",
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { body: jsonBody(z.object({ name: ClubNameSchema }).strict().openapi('JoinClubInput')) },
  responses: {
    201: { description: 'Joined', content: { 'application/json': { schema: JoinedClubSchema } } },
    200: { description: 'Already a member', content: { 'application/json': { schema: JoinedClubSchema } } },
    ...errorResponses(400, 401, 403, 409, 415, 422),
  },
})

export const leaveClub = createRoute({
  method: 'delete',
  path: '/api/v1/me/clubs/{name}',
  operationId: 'leaveClub',
  tags,
  summary: 'Leave a club',
  description: '404 when I am not in it. The name is matched case-insensitively.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: {
    params: z.object({
      name: z
        .string()
        .min(1)
        .max(200)
        .transform((n) => n.trim().toLowerCase())
        .openapi({ param: { description: 'Club name (URL-encoded)' }, example: 'board%20games' }),
    }),
  },
  responses: {
    204: { description: 'Left' },
    ...errorResponses(401, 404, 409, 422),
  },
})

export const myClubs = createRoute({
  method: 'get',
  path: '/api/v1/me/clubs',
  operationId: 'listMyClubs',
  tags,
  summary: 'The clubs I am in',
  description: 'Newest first.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: paginationQuery },
  responses: {
    200: {
      description: 'A page of clubs',
      content: { 'application/json': { schema: pageSchema(ClubSchema, 'ClubPage') } },
    },
    ...errorResponses(401, 409, 422),
  },
})

export const searchClubs = createRoute({
  method: 'get',
  path: '/api/v1/clubs/search',
  operationId: 'searchClubs',
  tags,
  summary: 'Find a club to join',
  description:
    'Up to 20 clubs: the exact name typed first when it is (or could become) a club, then clubs that start with it or resemble it (trigram similarity), with active member counts and whether I am in each.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { query: z.object({ q: searchTerm.pipe(z.string().min(1, 'Required')) }) },
  responses: {
    200: {
      description: 'Matching clubs',
      content: {
        'application/json': {
          schema: z.object({ clubs: z.array(ClubSearchRowSchema) }).openapi('ClubSearchResult'),
        },
      },
    },
    ...errorResponses(401, 409, 422),
  },
})

export const topClubs = createRoute({
  method: 'get',
  path: '/api/v1/clubs/top',
  operationId: 'listTopClubs',
  tags,
  summary: 'Popular clubs (public)',
  description: `No \`q\`: the 20 biggest clubs by active members. With \`q\`: up to 20 clubs that start with it or resemble it. Clubs without active members are left out. Cached ${publicClubsTtlSeconds} s.`,
  middleware: [publicCache({ maxAgeSeconds: publicClubsTtlSeconds })] as const,
  request: { query: z.object({ q: searchTerm.default('') }) },
  responses: {
    200: {
      description: 'Clubs',
      content: {
        'application/json': { schema: z.object({ clubs: z.array(ClubSchema) }).openapi('ClubList') },
      },
    },
    304: { description: 'Not modified (the `If-None-Match` ETag still matches)' },
    ...errorResponses(422),
  },
})
