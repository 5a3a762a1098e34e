import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { requireOnboarded } from '../../middleware/account-status'
import { optionalAuth, requireAuth } from '../../middleware/auth'
import { ProfileClubSchema } from '../../services/clubs/clubs'
import { OwnProfileSchema, ProfilePatchSchema, ProfileViewSchema } from '../../services/profiles/profiles'

const tags = ['Profiles']
const ProfileViewWithClubs = ProfileViewSchema.extend({
  clubs: z.array(ProfileClubSchema).openapi({ description: 'Their clubs, the ones I am in too first' }),
}).openapi('ProfileWithClubs')
const security = [{ bearerAuth: [] }]

const ownProfile = {
  description: 'My profile',
  content: { 'application/json': { schema: OwnProfileSchema } },
}

export const getMyProfile = createRoute({
  method: 'get',
  path: '/api/v1/me/profile',
  operationId: 'getMyProfile',
  tags,
  summary: 'My profile, every field and setting',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: { 200: ownProfile, ...errorResponses(401, 404, 409) },
})

export const updateMyProfile = createRoute({
  method: 'patch',
  path: '/api/v1/me/profile',
  operationId: 'updateMyProfile',
  tags,
  summary: 'Edit my profile',
  description:
    'Any subset of fields; null clears an optional one (about, occupation, education, height, the basics, theme). About: ≤ 10,000 characters without links, email addresses, phone numbers or payment handles. Name, occupation, education and about must not be rude. Changing gender or ethnicity resets its verified flag. Fields reserved for higher tiers answer 403 `tier_required` naming them.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  request: { body: jsonBody(ProfilePatchSchema) },
  responses: { 200: ownProfile, ...errorResponses(400, 401, 403, 404, 409, 415, 422) },
})

export const viewProfile = createRoute({
  method: 'get',
  path: '/api/v1/profiles/{idOrSlug}',
  operationId: 'getProfile',
  tags,
  summary: "Another member's profile, by id or URL slug",
  description:
    'Anonymous visitors see only public profiles that neither hide from strangers nor ask for verification. Members do not see profiles of people who skipped them, nor of people hiding from strangers who have not messaged them (404, like an unknown id); a viewer verified below the member\'s privacy level gets 403 `verification_required` unless the member messaged them. Age, location and "looking for" are null when the member hides them.',
  security: [{}, ...security],
  middleware: [optionalAuth] as const,
  request: {
    params: z.object({
      idOrSlug: z.string().min(1).max(100).openapi({ description: 'Member id (uuid) or URL slug' }),
    }),
  },
  responses: {
    200: { description: 'The profile', content: { 'application/json': { schema: ProfileViewWithClubs } } },
    ...errorResponses(401, 403, 404, 422),
  },
})
