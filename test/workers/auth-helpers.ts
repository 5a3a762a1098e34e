import { api } from './helpers'

/** A unique client IP per call, so rate-limit counters never leak between tests. */
export const uniqueIp = () =>
  `2001:db8:${[...crypto.getRandomValues(new Uint16Array(3))].map((n) => n.toString(16)).join(':')}::1`

export const uniqueEmail = (domain = 'example.com') => `user-${crypto.randomUUID().slice(0, 12)}@${domain}`

export function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'CF-Connecting-IP': uniqueIp(), ...headers },
    body: JSON.stringify(body),
  })
}

export interface SignedInTokens {
  accessToken: string
  refreshToken?: string
  refreshExpiresAt: string
  expiresIn: number
  needsOnboarding: boolean
  user: { id: string; role: string; status: string }
}

/** Sign in through the public API with the non-production `@example.com` → 000000 rule. */
export async function signIn(email = uniqueEmail(), opts: { ip?: string } = {}): Promise<SignedInTokens> {
  const headers = { 'CF-Connecting-IP': opts.ip ?? uniqueIp() }
  const started = await post('/api/v1/auth/otp', { email }, headers)
  if (started.status !== 201) throw new Error(`otp request failed: ${started.status} ${await started.text()}`)
  const { challengeId } = (await started.json()) as { challengeId: string }
  const verified = await post(
    '/api/v1/auth/otp/verify',
    { challengeId, code: '000000', client: 'mobile' },
    headers,
  )
  if (verified.status !== 200)
    throw new Error(`otp verify failed: ${verified.status} ${await verified.text()}`)
  return (await verified.json()) as SignedInTokens
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` })
