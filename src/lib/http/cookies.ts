import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'

/** The boilerplate's cookie name, kept so its web clients keep working. */
export const refreshCookieName = 'refresh_token'
// Only the token endpoints need it; a narrow path keeps it off every other request.
const cookiePath = '/api/v1'

/** Web clients get the refresh token as an HttpOnly cookie that scripts cannot read. */
export function setRefreshCookie(c: Context, token: string, expiresAt: Date): void {
  setCookie(c, refreshCookieName, token, {
    httpOnly: true,
    secure: true,
    sameSite: 'Lax',
    path: cookiePath,
    expires: expiresAt,
  })
}

export function clearRefreshCookie(c: Context): void {
  deleteCookie(c, refreshCookieName, { path: cookiePath, secure: true, httpOnly: true, sameSite: 'Lax' })
}

export function readRefreshCookie(c: Context): string | undefined {
  return getCookie(c, refreshCookieName)
}
