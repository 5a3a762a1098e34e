/** A fixed signing secret for tests only; real deployments set JWT_SECRET with `wrangler secret put`. */
export const testJwtSecret = 'test-only-secret-0123456789abcdef0123456789abcdef'

/** The API's address in tests: requests go to it and PUBLIC_URL is set to it, so media URLs point here. */
export const testPublicUrl = 'https://rapport.test'

/** OAuth client ids the test Worker accepts (web and iOS for Google; app and Services id for Apple). */
export const testGoogleClientIds = [
  'rapport-web.apps.googleusercontent.com',
  'rapport-ios.apps.googleusercontent.com',
]
export const testAppleClientIds = ['app.rapport.ios', 'app.rapport.web']
/** The one client URL the Apple web flow may return to in tests. */
export const testAppleRedirectUrl = 'https://app.rapport.test/auth/apple/done'

/** The paid tier purchases map to in tests (created by the billing tests). */
export const testPaidTier = 'billing-gold'
export const testStripe = {
  secretKey: 'sk_test_rapport_0123456789',
  webhookSecret: 'whsec_test_rapport_0123456789',
  price: 'price_gold_monthly',
  returnUrl: 'https://app.rapport.test/billing',
}
export const testRevenueCat = {
  authorization: 'Bearer rc_webhook_test_0123456789',
  signingSecret: 'rc_signing_test_0123456789',
  entitlement: 'gold',
}
