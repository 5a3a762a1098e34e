import type { RouteHandler } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { ApiError } from '../../lib/http/errors'
import {
  applySettingsLink,
  currentFrequency,
  settingsPath,
  verifySettingsLink,
} from '../../services/notifications/settings-links'
import { settingsFormPage, settingsSavedPage } from '../../services/notifications/settings-page'
import type { AppEnv } from '../../types'
import type * as routes from './notification-settings.routes'

/** The page carries a capability in its URL: never cached, never sent on as a referrer. */
function htmlPage(c: Context<AppEnv>, body: string) {
  c.header('Cache-Control', 'no-store')
  c.header('Referrer-Policy', 'no-referrer')
  return c.html(body, 200)
}

export const showNotificationSettingsLink: RouteHandler<
  typeof routes.showNotificationSettingsLink,
  AppEnv
> = async (c) => {
  const s = c.get('services')
  const path = c.req.valid('param')
  const { token } = c.req.valid('query')
  const link = await verifySettingsLink(s, path, token)
  const current = await currentFrequency(s, link)
  const action = `${settingsPath(path.userId, path.kind)}?token=${encodeURIComponent(token)}`
  return htmlPage(c, settingsFormPage(path.kind, current, action))
}

export const applyNotificationSettingsLink: RouteHandler<
  typeof routes.applyNotificationSettingsLink,
  AppEnv
> = async (c) => {
  const s = c.get('services')
  const path = c.req.valid('param')
  const link = await verifySettingsLink(s, path, c.req.valid('query').token)
  const form = c.req.valid('form')
  const frequency = form['List-Unsubscribe'] === 'One-Click' ? 'never' : form.frequency
  if (!frequency) {
    throw new ApiError('validation_failed', 'Choose a frequency', {
      errors: [{ path: 'form.frequency', message: 'is required (or List-Unsubscribe=One-Click)' }],
    })
  }
  await applySettingsLink(s, link, frequency)
  return htmlPage(c, settingsSavedPage(path.kind, frequency))
}
