import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../lib/http/openapi'
import { requireAuth } from '../../middleware/auth'
import { callerIdentity, rateLimit } from '../../middleware/rate-limit'
import type { LimitRule } from '../../services/platform/rate-limit'
import type { AccountExport } from '../../services/accounts/data-export'

const tags = ['Me']
const security = [{ bearerAuth: [] }]

/** The seed's limit: three export links a day per member. */
export const exportTokenLimit: LimitRule = { name: 'export-token', limit: 3, periodSeconds: 86_400 }

export const deactivate = createRoute({
  method: 'post',
  path: '/api/v1/me/deactivate',
  operationId: 'deactivateMe',
  tags,
  summary: 'Deactivate my account',
  description:
    'Hides the account from other members until its owner signs in again, which reactivates it. ' +
    'Sessions stay signed in. Deactivating an already deactivated account changes nothing. ' +
    'Accounts still onboarding answer 409.',
  security,
  middleware: [requireAuth] as const,
  responses: {
    200: {
      description: 'Deactivated',
      content: {
        'application/json': {
          schema: z
            .object({ status: z.literal('deactivated'), deactivatedAt: z.iso.datetime() })
            .openapi('Deactivation'),
        },
      },
    },
    ...errorResponses(401, 404, 409),
  },
})

export const deleteMe = createRoute({
  method: 'delete',
  path: '/api/v1/me',
  operationId: 'deleteMe',
  tags,
  summary: 'Delete my account and everything that is mine',
  description:
    'Signs out every session at once (their access tokens stop working immediately), queues stored ' +
    'files for deletion and removes the account with its sessions, tokens, jobs and pending sign-ins. ' +
    'Cannot be undone.',
  security,
  middleware: [requireAuth] as const,
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401) },
})

export const createExportToken = createRoute({
  method: 'post',
  path: '/api/v1/me/export-token',
  operationId: 'createExportToken',
  tags,
  summary: 'Get a link to download my data',
  description:
    'A single-use token, valid for ten minutes, for `GET /api/v1/me/export/{token}`. Three per day.',
  security,
  middleware: [requireAuth, rateLimit((c) => [[exportTokenLimit, callerIdentity(c)]])] as const,
  responses: {
    201: {
      description: 'Issued',
      content: {
        'application/json': {
          schema: z
            .object({
              token: z.string().openapi({ example: 'q3VhN2xk0m2Vb1Y7h0s8c4eP9a1QmZx5tR6wJ3kL2nE' }),
              expiresAt: z.iso.datetime(),
            })
            .openapi('ExportToken'),
        },
      },
    },
    ...errorResponses(401, 429),
  },
})

const Rows = z.array(z.record(z.string(), z.unknown()))

export const AccountExportSchema = z
  .object({
    format: z.literal('rapport.account-export'),
    version: z.literal(1),
    exportedAt: z.iso.datetime(),
    profile: z
      .record(z.string(), z.unknown())
      .openapi({ description: 'The account row, every column except the password hash' }),
    sessions: Rows.openapi({ description: 'Every session: client, device, IP, created, last seen, revoked' }),
    signInChallenges: Rows.openapi({
      description: 'Sign-in codes requested for the email (never the codes)',
    }),
    exportTokens: Rows.openapi({ description: 'When export links were issued and used' }),
    jobs: Rows.openapi({ description: 'Background jobs the account owns' }),
    bans: Rows.openapi({ description: 'Bans against the email address, lifted and expired ones included' }),
    datingProfile: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: 'The dating profile or onboarding draft, every column' }),
    searchPreferences: z.record(z.string(), z.unknown()).nullable(),
    photos: Rows.openapi({ description: 'Photo records (ids name the stored files)' }),
    voiceBio: z.record(z.string(), z.unknown()).nullable(),
    verification: z
      .record(z.string(), z.unknown())
      .nullable()
      .openapi({ description: "The selfie-verification attempt with the model's answer" }),
    skips: Rows.openapi({ description: 'People skipped or reported, with the reasons given' }),
    searchAnswerFilters: Rows.openapi({ description: 'My Q&A search filters' }),
    inbox: Rows.openapi({
      description: 'One row per conversation: box, last message, unread count, read marker',
    }),
    messages: Rows.openapi({
      description: 'Every message I sent or can see, by conversation and sequence number',
    }),
    clubs: Rows.openapi({ description: 'The clubs I am in, with when I joined' }),
    visits: Rows.openapi({ description: 'Profiles I visited (as others see it, unless invisible)' }),
    linkedAccounts: Rows.openapi({ description: 'Google/Apple accounts linked to mine' }),
    subscriptions: Rows.openapi({ description: 'My subscriptions, one per store' }),
    purchases: Rows.openapi({ description: 'Purchase events applied to my account' }),
  })
  .strict()
  .openapi('AccountExport')

// The document lists every member of the export: tsc fails here when the service adds one.
const exportIsDocumented: Record<
  Exclude<keyof AccountExport, keyof typeof AccountExportSchema.shape>,
  never
> = {}
void exportIsDocumented

export const downloadExport = createRoute({
  method: 'get',
  path: '/api/v1/me/export/{token}',
  operationId: 'downloadExport',
  tags,
  summary: 'Download my data',
  description:
    'No bearer token: the export token is the credential. It works once; unknown, used and expired ' +
    'tokens are all answered 404. The body is an attachment (`rapport-export-<date>.json`).',
  security: [],
  request: { params: z.object({ token: z.string().min(1).max(128) }) },
  responses: {
    200: {
      description: 'Everything Rapport stores about the account',
      headers: {
        'Content-Disposition': { schema: { type: 'string' }, description: 'attachment; filename=…' },
      },
      content: { 'application/json': { schema: AccountExportSchema } },
    },
    ...errorResponses(404, 422),
  },
})
