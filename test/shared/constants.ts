/** A fixed signing secret for tests only; real deployments set JWT_SECRET with `wrangler secret put`. */
export const testJwtSecret = 'test-only-secret-0123456789abcdef0123456789abcdef'
