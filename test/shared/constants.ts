/** A fixed signing secret for tests only; real deployments set JWT_SECRET with `wrangler secret put`. */
export const testJwtSecret = 'test-only-secret-0123456789abcdef0123456789abcdef'

/** OAuth client ids the test Worker accepts (web and iOS for Google; app and Services id for Apple). */
export const testGoogleClientIds = [
  'rapport-web.apps.googleusercontent.com',
  'rapport-ios.apps.googleusercontent.com',
]
export const testAppleClientIds = ['app.rapport.ios', 'app.rapport.web']
/** The one client URL the Apple web flow may return to in tests. */
export const testAppleRedirectUrl = 'https://app.rapport.test/auth/apple/done'
