/**
 * What the benches do as a client of a running Rapport: JSON calls and signing in a fresh member
 * through the public API (the non-production `@example.com` → `000000` rule).
 */

export async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${await res.text()}`)
  return (await res.json()) as Record<string, unknown>
}

/** A fresh member signed in the way a client would; returns the access token. */
export async function signIn(url: string): Promise<string> {
  const email = `bench-${crypto.randomUUID().slice(0, 8)}@example.com`
  const { challengeId } = await post(`${url}/api/v1/auth/otp`, { email })
  const { accessToken } = await post(`${url}/api/v1/auth/otp/verify`, {
    challengeId,
    code: '000000',
    client: 'mobile',
  })
  if (typeof accessToken !== 'string') throw new Error('sign-in returned no access token')
  return accessToken
}
