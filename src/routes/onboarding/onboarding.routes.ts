import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, jsonBody } from '../../lib/http/openapi'
import { requireOnboarding } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { requiredOnboardingFields } from '../../services/accounts/onboarding'
import { DateOfBirthSchema, GenderSchema, NameSchema } from '../../services/profiles/fields'
import { OwnProfileSchema } from '../../services/profiles/profiles'

const tags = ['Onboarding']
const security = [{ bearerAuth: [] }]

export const OnboardingStateSchema = z
  .object({
    name: z.string().nullable(),
    urlSlug: z.string().nullable().openapi({ description: 'The profile address reserved for the name' }),
    dateOfBirth: z.iso.date().nullable(),
    location: z.string().nullable().openapi({ description: 'The chosen place label' }),
    gender: GenderSchema.nullable(),
    seekingGenders: z.array(GenderSchema).nullable(),
    missing: z
      .array(z.enum(requiredOnboardingFields))
      .openapi({ description: 'Required fields not set yet; finishing needs this to be empty' }),
  })
  .openapi('OnboardingState')

export const OnboardingPatchSchema = z
  .object({
    name: NameSchema,
    dateOfBirth: DateOfBirthSchema,
    location: z.string().min(1).max(200).openapi({ description: 'A place `label` from GET /api/v1/places' }),
    gender: GenderSchema,
    seekingGenders: z.array(GenderSchema).min(1).max(9).openapi({ description: 'Genders I want to meet' }),
  })
  .partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: 'Send at least one field' })
  .openapi('OnboardingPatch', {
    minProperties: 1,
    description:
      'One step of onboarding (or several at once). Photos are added with PUT /api/v1/me/photos/{position}.',
  })

const stateResponse = {
  description: 'Onboarding so far',
  content: { 'application/json': { schema: OnboardingStateSchema } },
}

export const getOnboarding = createRoute({
  method: 'get',
  path: '/api/v1/onboarding',
  operationId: 'getOnboarding',
  tags,
  summary: 'My onboarding so far',
  security,
  middleware: [requireAuth, requireOnboarding] as const,
  responses: { 200: stateResponse, ...errorResponses(401, 409) },
})

export const updateOnboarding = createRoute({
  method: 'patch',
  path: '/api/v1/onboarding',
  operationId: 'updateOnboarding',
  tags,
  summary: 'Set onboarding fields',
  description:
    'Name: 1–64 characters, not rude (reserves a URL slug). Date of birth: YYYY-MM-DD, 18 or older. Location: a label from the place search. Gender, and the genders I want to meet.',
  security,
  middleware: [requireAuth, requireOnboarding] as const,
  request: { body: jsonBody(OnboardingPatchSchema) },
  responses: { 200: stateResponse, ...errorResponses(400, 401, 409, 415, 422) },
})

export const finishOnboarding = createRoute({
  method: 'post',
  path: '/api/v1/onboarding/finish',
  operationId: 'finishOnboarding',
  tags,
  summary: 'Finish onboarding',
  description:
    'Requires every field (422 lists the missing ones). Activates the account and creates search preferences: ages around mine, the genders I chose, and a distance reaching about 2,000 mutual matches (unlimited where fewer than 500 are reachable). A second call answers 409 `already_onboarded`.',
  security,
  middleware: [requireAuth, requireOnboarding] as const,
  responses: {
    201: { description: 'My new profile', content: { 'application/json': { schema: OwnProfileSchema } } },
    ...errorResponses(401, 409, 422),
  },
})
