import type { RouteHandler } from '@hono/zod-openapi'
import { readUpload } from '../../lib/http/upload'
import {
  type VerificationState,
  readVerification,
  requestVerification as submitForVerification,
  uploadSelfie as storeVerificationSelfie,
} from '../../services/verification/verification'
import type { AuthedEnv } from '../../types'
import type * as routes from './verification.routes'

const view = (state: VerificationState) => ({ ...state, expiresAt: state.expiresAt?.toISOString() ?? null })

export const getVerification: RouteHandler<typeof routes.getVerification, AuthedEnv> = async (c) => {
  const state = await readVerification(c.get('services'), c.get('caller').userId)
  return c.json(view(state), 200)
}

export const uploadSelfie: RouteHandler<typeof routes.uploadSelfie, AuthedEnv> = async (c) => {
  const s = c.get('services')
  const bytes = await readUpload(c)
  return c.json(view(await storeVerificationSelfie(s, c.get('caller').userId, bytes)), 200)
}

export const requestVerification: RouteHandler<typeof routes.requestVerification, AuthedEnv> = async (c) => {
  const { state, headers } = await submitForVerification(c.get('services'), c.get('caller').userId)
  for (const [name, value] of Object.entries(headers)) c.header(name, value)
  return c.json(view(state), 202)
}
