import { createHash, randomBytes } from 'node:crypto'
import pg from 'pg'
import { type OpenIdProvider, startOpenIdProvider } from './openid-provider'
import { type RevenueCatFake, startRevenueCatFake } from './revenuecat-fake'
import { type StripeFake, startStripeFake } from './stripe-fake'

/**
 * The identity and purchase fakes `npm run dev` (and the end-to-end tests) run next to the
 * Worker: the local OpenID provider (Google- and Apple-shaped keys and tokens), Stripe (API and
 * signed webhooks delivered to the Worker) and RevenueCat (signed webhooks). `vars` are the
 * Worker variables that point it at them; values already in `.dev.vars` win.
 */
export interface ThirdPartyFakes {
  idp: OpenIdProvider
  stripe: StripeFake
  revenueCat: RevenueCatFake
  vars: Record<string, string>
  /** The tier purchases grant locally. */
  paidTier: string
  stripePrice: string
  revenueCatEntitlement: string
  googleClientId: string
  appleClientId: string
  stop(): Promise<void>
}

export async function startThirdPartyFakes(opts: {
  /** Where the Worker will listen, e.g. http://127.0.0.1:8787 (webhooks go there). */
  apiUrl: string
  paidTier?: string
}): Promise<ThirdPartyFakes> {
  const googleClientId = 'rapport-local.apps.googleusercontent.com'
  const appleClientId = 'app.rapport.local'
  const paidTier = opts.paidTier ?? 'gold'
  const stripePrice = 'price_local_gold_monthly'
  const revenueCatEntitlement = 'gold'
  const stripeSecret = `sk_test_${randomBytes(12).toString('hex')}`
  const stripeWebhookSecret = `whsec_${randomBytes(16).toString('hex')}`
  const revenueCatAuthorization = `Bearer rc_${randomBytes(16).toString('hex')}`
  const revenueCatSigning = randomBytes(16).toString('hex')

  const idp = await startOpenIdProvider({ googleClientId, appleClientId })
  const stripe = await startStripeFake({
    secretKey: stripeSecret,
    webhookSecret: stripeWebhookSecret,
    webhookUrl: `${opts.apiUrl}/api/v1/webhooks/stripe`,
  })
  const revenueCat = await startRevenueCatFake({
    authorization: revenueCatAuthorization,
    signingSecret: revenueCatSigning,
    webhookUrl: `${opts.apiUrl}/api/v1/webhooks/revenuecat`,
  })
  return {
    idp,
    stripe,
    revenueCat,
    paidTier,
    stripePrice,
    revenueCatEntitlement,
    googleClientId,
    appleClientId,
    vars: {
      GOOGLE_CLIENT_IDS: googleClientId,
      GOOGLE_JWKS_URL: idp.googleJwksUrl,
      APPLE_CLIENT_IDS: appleClientId,
      APPLE_JWKS_URL: idp.appleJwksUrl,
      STRIPE_API_URL: stripe.url,
      STRIPE_SECRET_KEY: stripeSecret,
      STRIPE_WEBHOOK_SECRET: stripeWebhookSecret,
      STRIPE_PRICE_TIERS: `${stripePrice}:${paidTier}`,
      STRIPE_RETURN_URL: `${opts.apiUrl}/health`,
      REVENUECAT_WEBHOOK_AUTH_SHA256: createHash('sha256').update(revenueCatAuthorization).digest('hex'),
      REVENUECAT_WEBHOOK_SIGNING_SECRET: revenueCatSigning,
      REVENUECAT_ENTITLEMENT_TIERS: `${revenueCatEntitlement}:${paidTier}`,
    },
    async stop() {
      await Promise.allSettled([idp.close(), stripe.close(), revenueCat.close()])
    },
  }
}

/**
 * Locally, the tier purchases grant exists from the start (with read receipts, invisible
 * browsing, the extra profile fields and 100 clubs), so a fresh `npm run dev` can buy it.
 * Idempotent; an existing tier of that name is left as it is.
 */
export async function ensureLocalPaidTier(databaseUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    await client.query(
      `insert into tiers (name, features) values ($1, $2::jsonb) on conflict (name) do nothing`,
      [
        name,
        JSON.stringify({
          readReceipts: true,
          invisibleBrowsing: true,
          goldProfileFields: true,
          clubQuota: 100,
        }),
      ],
    )
  } finally {
    await client.end()
  }
}
