import type { RouteHandler } from '@hono/zod-openapi'
import { deactivateAccount, deleteAccount } from '../../services/accounts/account'
import { createExportToken as issueExportToken, redeemExportToken } from '../../services/accounts/data-export'
import type { AppEnv, AuthedEnv } from '../../types'
import type * as routes from './account.routes'

export const deactivate: RouteHandler<typeof routes.deactivate, AuthedEnv> = async (c) => {
  const state = await deactivateAccount(c.get('services'), c.get('caller').userId)
  return c.json({ status: state.status, deactivatedAt: state.deactivatedAt.toISOString() }, 200)
}

export const deleteMe: RouteHandler<typeof routes.deleteMe, AuthedEnv> = async (c) => {
  await deleteAccount(c.get('services'), c.get('caller').userId)
  return c.body(null, 204)
}

export const createExportToken: RouteHandler<typeof routes.createExportToken, AuthedEnv> = async (c) => {
  const { token, expiresAt } = await issueExportToken(c.get('services'), c.get('caller').userId)
  return c.json({ token, expiresAt: expiresAt.toISOString() }, 201)
}

export const downloadExport: RouteHandler<typeof routes.downloadExport, AppEnv> = async (c) => {
  const data = await redeemExportToken(c.get('services'), c.req.valid('param').token)
  const date = data.exportedAt.slice(0, 10)
  c.header('Content-Disposition', `attachment; filename="rapport-export-${date}.json"`)
  // Personal data behind a capability URL: no cache anywhere may keep a copy.
  c.header('Cache-Control', 'no-store')
  return c.json(data, 200)
}
