import { createHash } from 'node:crypto'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { buildDocsAssets } from './scripts/docs-assets.ts'
import { patchPoolWorkers } from './test/setup/pool-workers-patch.ts'
import {
  testAppleClientIds,
  testAppleRedirectUrl,
  testGoogleClientIds,
  testJwtSecret,
  testPaidTier,
  testRevenueCat,
  testPublicUrl,
  testStripe,
} from './test/support/constants.ts'

// Miniflare must not try to reach Cloudflare for request.cf data: this machine is offline.
process.env.CLOUDFLARE_CF_FETCH_ENABLED = 'false'
process.env.WRANGLER_SEND_METRICS = 'false'
// wrangler.toml's [assets] directory must exist before the Workers pool reads the config.
buildDocsAssets()
// Before the pool starts a runtime: without it, every request makes the next one slower.
patchPoolWorkers()

/** Packages the Worker and the workerd tests import, pre-bundled once per run (see deps below). */
const preBundled = [
  '@hono/zod-openapi',
  '@neondatabase/serverless',
  '@noble/hashes/argon2.js',
  '@sindresorhus/transliterate',
  '@upstash/ratelimit',
  '@upstash/redis/cloudflare',
  'blurhash',
  'drizzle-orm',
  'drizzle-orm/neon-http',
  'drizzle-orm/neon-serverless',
  'drizzle-orm/pg-core',
  'fast-check',
  'hono',
  'hono/body-limit',
  'hono/cookie',
  'hono/cors',
  'hono/factory',
  'hono/http-exception',
  'hono/request-id',
  'hono/route',
  'hono/secure-headers',
  'jose',
  'jpeg-js',
  'obscenity',
  'worker-mailer',
  'zod',
]

/** A project of tests inside workerd, against the local stack its global setup starts. */
function workersProject(name: string, include: string[], exclude: string[], globalSetup: string) {
  return {
    // Where Vite keeps the pre-bundled dependencies; `npm test` gives each of its two workerd
    // runs its own, as both bundle them at once on a clean clone (scripts/test.ts).
    cacheDir: process.env.RAPPORT_VITE_CACHE,
    plugins: [
      cloudflareTest(({ inject }) => ({
        main: './src/index.ts',
        wrangler: { configPath: './wrangler.toml' },
        miniflare: {
          bindings: {
            ENVIRONMENT: 'local',
            PUBLIC_URL: testPublicUrl,
            DATABASE_URL: inject('databaseUrl'),
            NEON_LOCAL_PROXY: inject('neonProxy'),
            UPSTASH_REDIS_REST_URL: inject('upstashUrl'),
            UPSTASH_REDIS_REST_TOKEN: inject('upstashToken'),
            JWT_SECRET: testJwtSecret,
            LOG_LEVEL: 'warn',
            SMTP_HOST: '127.0.0.1',
            SMTP_PORT: String(inject('smtpPort')),
            SMTP_USER: inject('smtpUser'),
            SMTP_PASS: inject('smtpPass'),
            SMTP_SECURE: 'none',
            SMTP_FROM: 'Rapport <no-reply@rapport.test>',
            OPENAI_BASE_URL: `${inject('openAiUrl')}/v1`,
            OPENAI_API_KEY: inject('openAiKey'),
            OPENAI_MODEL: 'gpt-4.1',
            EXPO_PUSH_URL: inject('expoPushUrl'),
            EXPO_ACCESS_TOKEN: inject('expoAccessToken'),
            VAPID_PUBLIC_KEY: inject('vapidPublicKey'),
            VAPID_PRIVATE_KEY: inject('vapidPrivateKey'),
            VAPID_SUBJECT: 'mailto:push@rapport.test',
            GOOGLE_CLIENT_IDS: testGoogleClientIds.join(','),
            GOOGLE_JWKS_URL: `${inject('idpUrl')}/google/oauth2/v3/certs`,
            APPLE_CLIENT_IDS: testAppleClientIds.join(','),
            APPLE_JWKS_URL: `${inject('idpUrl')}/apple/auth/keys`,
            APPLE_REDIRECT_URLS: testAppleRedirectUrl,
            STRIPE_API_URL: inject('stripeUrl'),
            STRIPE_SECRET_KEY: testStripe.secretKey,
            STRIPE_WEBHOOK_SECRET: testStripe.webhookSecret,
            STRIPE_PRICE_TIERS: `${testStripe.price}:${testPaidTier}`,
            STRIPE_RETURN_URL: testStripe.returnUrl,
            REVENUECAT_WEBHOOK_AUTH_SHA256: createHash('sha256')
              .update(testRevenueCat.authorization)
              .digest('hex'),
            REVENUECAT_WEBHOOK_SIGNING_SECRET: testRevenueCat.signingSecret,
            REVENUECAT_ENTITLEMENT_TIERS: `${testRevenueCat.entitlement}:${testPaidTier}`,
            IP_REPUTATION_LISTS: inject('ipListsSetting'),
            // Generous on a shared test machine; the timeout test sets its own tight budget.
            IP_REPUTATION_TIMEOUT_MS: '3000',
          },
        },
      })),
    ],
    test: {
      name,
      // obscenity (src/services/moderation/text-rules.ts) ships CommonJS behind an ESM wrapper whose default
      // import workerd's module fallback answers with undefined; pre-bundling it with esbuild,
      // as wrangler does for the deployed Worker, gives the test runtime the same module.
      // The rest of the list is for speed: inlined, each dependency reaches workerd one module per
      // request to the test runner (zod, hono and drizzle-orm are hundreds of files), in every test
      // file's fresh runtime; pre-bundled, a handful. Every bare import the Worker and its tests
      // use is listed, so no package is loaded both bundled and unbundled (two copies of zod would
      // break its instanceof checks).
      //
      // Each file keeps its own runtime (vitest's default isolation). One runtime per vitest process
      // (isolate: false) was measured at 0.83 of the CPU, but one area's leftover queue messages
      // then reached another area's batches (docs/BENCHMARKS.md, "Test suite wall time").
      deps: { optimizer: { ssr: { enabled: true, include: [...preBundled] } } },
      // Many tests walk a member through dozens of sequential requests. On a quiet machine each
      // takes a second or two; with the Node lane and the static checks busy on the same two cores
      // they take several times longer, and vitest's 5 s default failed them while they were still
      // making progress. A test that hangs still fails, after 15 s.
      testTimeout: 15_000,
      hookTimeout: 30_000,
      include,
      exclude,
      globalSetup: [globalSetup],
    },
  }
}

export default defineConfig({
  test: {
    projects: [
      workersProject(
        'workers',
        ['test/**/*.test.ts'],
        ['test/**/*.node.test.ts', 'test/outage/**'],
        './test/setup/global-setup.ts',
      ),
      // Tests that take the database away, on their own database and Neon stand-in.
      workersProject('outage', ['test/outage/**/*.test.ts'], [], './test/setup/global-setup.ts'),
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.node.test.ts'],
          testTimeout: 30_000,
          // Creating a database waits behind others being created (the suite makes several at once)
          // while every other lane keeps the machine busy: 10 s was seen to run out.
          hookTimeout: 60_000,
        },
      },
    ],
  },
})
