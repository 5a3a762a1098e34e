import { createRoute, z } from '@hono/zod-openapi'
import { notificationFrequencyValues } from '../../db/schema/profiles'
import { errorResponses } from '../../lib/http/openapi'
import { notificationKinds } from '../../services/notifications/settings-links'

const tags = ['Notification settings']

const params = z.object({
  userId: z.uuid(),
  kind: z.enum(notificationKinds).openapi({ description: 'Which emails the link is about' }),
})
const query = z.object({
  token: z
    .string()
    .min(1)
    .max(1024)
    .openapi({ description: 'The signed link token from the email (member, type, expiry)' }),
})

const html = { 'text/html': { schema: z.string() } }

const linkRules =
  'The link is signed for one member and one type and expires after 60 days: a forged token, or one for another ' +
  'member or type, is 403; an expired one 410.'

export const showNotificationSettingsLink = createRoute({
  method: 'get',
  operationId: 'showNotificationSettingsLink',
  path: '/api/v1/notification-settings/{userId}/{kind}',
  tags,
  summary: 'The settings page behind an email link',
  description: `${linkRules} A small HTML form (no script) that POSTs the choice back. Changes nothing.`,
  security: [],
  request: { params, query },
  responses: {
    200: { description: 'The form', content: html },
    ...errorResponses(403, 404, 410, 422),
  },
})

const FormSchema = z.object({
  frequency: z.enum(notificationFrequencyValues).optional(),
  'List-Unsubscribe': z
    .literal('One-Click')
    .optional()
    .openapi({ description: 'RFC 8058 one-click unsubscribe: sets the frequency to "never"' }),
})

export const applyNotificationSettingsLink = createRoute({
  method: 'post',
  operationId: 'applyNotificationSettingsLink',
  path: '/api/v1/notification-settings/{userId}/{kind}',
  tags,
  summary: 'Apply a frequency through an email link (also the RFC 8058 one-click target)',
  description:
    `${linkRules} Either \`frequency\` (the form) or \`List-Unsubscribe=One-Click\` (mail clients, RFC 8058), which ` +
    'means "never". Idempotent: the same choice again is a 200; a link that already applied another choice is 409.',
  security: [],
  request: {
    params,
    query,
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': { schema: FormSchema },
        'multipart/form-data': { schema: FormSchema },
      },
    },
  },
  responses: {
    200: { description: 'Applied', content: html },
    ...errorResponses(403, 404, 409, 410, 415, 422),
  },
})
