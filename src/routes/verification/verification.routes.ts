import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { uploadBody, uploadBodyLimit } from '../../lib/http/upload'
import { requireOnboarded } from '../../middleware/account-status'
import { requireAuth } from '../../middleware/auth'
import { failureReasons, verificationStatuses } from '../../services/verification/verification'

const tags = ['Verification']
const security = [{ bearerAuth: [] }]

export const VerificationSchema = z
  .object({
    status: z.enum(verificationStatuses).openapi({
      description:
        '`none` when there is no live attempt (never started, or the last one expired after three days); then `uploading-photo` → `queued` → `running` → `success` | `failure`.',
    }),
    message: z.string().nullable().openapi({
      description: 'What to tell the member, e.g. "Our AI thinks you\'re not smiling."',
    }),
    reason: z.enum(failureReasons).nullable().openapi({
      description:
        'Why the attempt failed, as a stable code (null unless `failure`). After `unavailable` the same selfie may be submitted again; after any other reason, upload a new selfie.',
    }),
    expiresAt: z.iso
      .datetime()
      .nullable()
      .openapi({ description: 'When the attempt and its selfie are deleted' }),
    verificationLevel: z.enum(['none', 'basics', 'photos']),
    verifiedAge: z.boolean(),
    verifiedGender: z.boolean(),
    verifiedEthnicity: z.boolean(),
    verifiedPhotos: z
      .record(z.string(), z.boolean())
      .openapi({ description: 'Photo position (1–7) → verified', example: { '1': true, '2': false } }),
  })
  .openapi('Verification')

const state = (description: string) => ({
  description,
  content: { 'application/json': { schema: VerificationSchema } },
})

export const getVerification = createRoute({
  method: 'get',
  path: '/api/v1/me/verification',
  operationId: 'getVerification',
  tags,
  summary: 'My verification: the live attempt and what my profile holds',
  description:
    'Poll this after requesting verification. The profile fields (level, verified flags, verified photos) outlive the attempt, which is deleted three days after the selfie was uploaded or last submitted.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: { 200: state('My verification'), ...errorResponses(401, 409) },
})

export const uploadSelfie = createRoute({
  method: 'put',
  path: '/api/v1/me/verification/selfie',
  operationId: 'uploadSelfie',
  tags,
  summary: 'Upload a verification selfie',
  description:
    'The selfie must show only you, **smiling, touching an eyebrow with one hand and giving a thumbs down with the other**; it is compared with the claims on your profile (gender, age, ethnicity if set) and with your photos. Starts a new attempt in `uploading-photo`, replacing any earlier one. The same checks as for photos apply (JPEG, PNG, WebP or GIF, ≤ 10 MB, declared size within limits); only a 450 × 450 centre crop is kept. A selfie that another account already used is refused with 409 `selfie_reused`.',
  security,
  middleware: [requireAuth, requireOnboarded, uploadBodyLimit] as const,
  request: {
    body: uploadBody('The selfie.', ['image/jpeg', 'image/png', 'image/webp', 'image/gif']),
  },
  responses: {
    200: state('Selfie stored; the attempt is `uploading-photo`'),
    ...errorResponses(401, 409, 413, 415, 422, 503),
  },
})

export const requestVerification = createRoute({
  method: 'post',
  path: '/api/v1/me/verification',
  operationId: 'requestVerification',
  tags,
  summary: 'Submit my selfie for verification',
  description:
    'Moves the attempt from `uploading-photo` (or from a `failure` with reason `unavailable`) to `queued`; an AI then checks it, usually within a minute: poll `GET /api/v1/me/verification`. 409 without a selfie, or when this selfie is already queued, running or checked. At most 8 submissions per day (429 with Retry-After). 503 when this server has no AI provider configured.',
  security,
  middleware: [requireAuth, requireOnboarded] as const,
  responses: {
    202: state('Queued'),
    ...errorResponses(401, 409, 429, 503),
  },
})
