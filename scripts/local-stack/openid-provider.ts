/**
 * A local stand-in for the two OpenID providers Rapport accepts tokens from, for tests and
 * `npm run dev` (ENVIRONMENT=local only; the Worker refuses plain-http key URLs elsewhere). The
 * Worker verifies its tokens with exactly the production code, pointed here by configuration:
 *
 * - `GET /google/oauth2/v3/certs` — Google's JWKS document (`{keys: [RSA JWK…]}` with `kid`, `alg`
 *   RS256, `use` sig) and a `Cache-Control: public, max-age=…` header as Google sends it.
 *   GOOGLE_JWKS_URL = `<url>/google/oauth2/v3/certs`.
 * - `GET /apple/auth/keys` — Apple's JWKS. APPLE_JWKS_URL = `<url>/apple/auth/keys`.
 *
 * Tokens are RS256 JWTs shaped like the real ones: Google's `iss` `https://accounts.google.com`,
 * `aud` the client id, `sub`, `email`, `email_verified` (boolean), `iat`, `exp`; Apple's `iss`
 * `https://appleid.apple.com`, `aud` the bundle/Services id, `sub`, `email`, `email_verified` and
 * `is_private_email` as the strings Apple sends, `nonce`, `nonce_supported`, `auth_time`.
 *
 * Minting (not part of either provider's protocol, hence `/__fake`): `POST /__fake/tokens`
 * `{provider: "google"|"apple", claims?: {…overrides; null removes a claim}, expiresIn?: seconds}`
 * → `{token}`. In-process callers use `mint()`. `GET /__fake/stats` → `{jwksFetches: {google, apple}}`
 * (how often each key set was served, for caching tests).
 *
 * @example
 * const idp = await startOpenIdProvider({ googleClientId: 'web.apps.googleusercontent.com', appleClientId: 'app.rapport' })
 * const token = await idp.mint('google', { email: 'jane@gmail.com' })
 */
import { randomUUID } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type CryptoKey, type JWK, SignJWT, exportJWK, generateKeyPair } from 'jose'

export type IdProvider = 'google' | 'apple'

export interface OpenIdProvider {
  url: string
  googleJwksUrl: string
  appleJwksUrl: string
  /** A signed token with the provider's usual claims, `claims` overriding (null removes one). */
  mint(provider: IdProvider, claims?: Record<string, unknown>, expiresIn?: number): Promise<string>
  close(): Promise<void>
}

interface Signer {
  kid: string
  privateKey: CryptoKey
  jwk: JWK
}

async function signer(): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true })
  const kid = randomUUID()
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } }
}

const issuers: Record<IdProvider, string> = {
  google: 'https://accounts.google.com',
  apple: 'https://appleid.apple.com',
}

export async function startOpenIdProvider(opts: {
  googleClientId: string
  appleClientId: string
  port?: number
  /** `max-age` of the key documents (seconds). */
  maxAge?: number
}): Promise<OpenIdProvider> {
  const keys: Record<IdProvider, Signer> = { google: await signer(), apple: await signer() }
  const maxAge = opts.maxAge ?? 3600
  const jwksFetches: Record<IdProvider, number> = { google: 0, apple: 0 }

  async function mint(provider: IdProvider, claims: Record<string, unknown> = {}, expiresIn = 3600) {
    const now = Math.floor(Date.now() / 1000)
    const sub =
      provider === 'google'
        ? String(10n ** 20n + BigInt(Math.floor(Math.random() * 1e15)))
        : `000${randomUUID().replaceAll('-', '')}.0001`
    const base: Record<string, unknown> =
      provider === 'google'
        ? {
            iss: issuers.google,
            aud: opts.googleClientId,
            azp: opts.googleClientId,
            sub,
            email: `${sub}@gmail.com`,
            email_verified: true,
            iat: now,
            exp: now + expiresIn,
          }
        : {
            iss: issuers.apple,
            aud: opts.appleClientId,
            sub,
            email: `${randomUUID().slice(0, 10)}@privaterelay.appleid.com`,
            email_verified: 'true',
            is_private_email: 'true',
            auth_time: now,
            nonce_supported: true,
            iat: now,
            exp: now + expiresIn,
          }
    const payload = Object.fromEntries(
      Object.entries({ ...base, ...claims }).filter(([, v]) => v !== null && v !== undefined),
    )
    const key = keys[provider]
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid, typ: 'JWT' })
      .sign(key.privateKey)
  }

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
    res.end(JSON.stringify(body))
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const jwksHeaders = { 'cache-control': `public, max-age=${maxAge}, must-revalidate, no-transform` }
    if (req.method === 'GET' && path === '/google/oauth2/v3/certs') {
      jwksFetches.google++
      return send(res, 200, { keys: [keys.google.jwk] }, jwksHeaders)
    }
    if (req.method === 'GET' && path === '/apple/auth/keys') {
      jwksFetches.apple++
      return send(res, 200, { keys: [keys.apple.jwk] }, jwksHeaders)
    }
    if (req.method === 'GET' && path === '/__fake/stats') return send(res, 200, { jwksFetches })
    if (req.method === 'POST' && path === '/__fake/tokens') {
      const chunks: Buffer[] = []
      for await (const chunk of req) chunks.push(chunk as Buffer)
      let body: { provider?: unknown; claims?: unknown; expiresIn?: unknown }
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body
      } catch {
        return send(res, 400, { error: 'invalid JSON' })
      }
      if (body.provider !== 'google' && body.provider !== 'apple') {
        return send(res, 400, { error: 'provider must be google or apple' })
      }
      const claims =
        body.claims && typeof body.claims === 'object' ? (body.claims as Record<string, unknown>) : {}
      const expiresIn = typeof body.expiresIn === 'number' ? body.expiresIn : 3600
      return send(res, 200, { token: await mint(body.provider, claims, expiresIn) })
    }
    return send(res, 404, { error: 'not found' })
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => send(res, 500, { error: String(err) }))
  })
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    url,
    googleJwksUrl: `${url}/google/oauth2/v3/certs`,
    appleJwksUrl: `${url}/apple/auth/keys`,
    mint,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
