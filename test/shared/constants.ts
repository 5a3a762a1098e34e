/** A fixed signing secret for tests only; real deployments set JWT_SECRET with `wrangler secret put`. */
export const testJwtSecret = 'test-only-secret-0123456789abcdef0123456789abcdef'

/** The API's address in tests: requests go to it and PUBLIC_URL is set to it, so media URLs point here. */
export const testPublicUrl = 'https://rapport.test'
