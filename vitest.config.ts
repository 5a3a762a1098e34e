import { createHash } from 'node:crypto'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { buildDocsAssets } from './scripts/docs-assets.ts'
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

/**
 * Test files that need a workerd runtime of their own. The first three assert over everything in
 * an R2 bucket (what a cron deleted, what a failed upload left behind), where another file's
 * objects would show; rate-limit-middleware counts a warning the isolate gives at most once a
 * minute, which another file may already have spent.
 */
const ownRuntime = [
  'test/workers/chat-voice.test.ts',
  'test/workers/storage-cleanup.test.ts',
  'test/workers/voice-bio.test.ts',
  'test/workers/rate-limit-middleware.test.ts',
]

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
function workersProject(
  name: string,
  include: string[],
  exclude: string[],
  globalSetup: string,
  opts: { isolate: boolean },
) {
  return {
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
      // request to the test runner (zod, hono and drizzle-orm are hundreds of files); pre-bundled,
      // a handful. Every bare import the Worker and its tests use is listed, so no package is
      // loaded both bundled and unbundled (two copies of zod would break its instanceof checks).
      deps: { optimizer: { ssr: { enabled: true, include: [...preBundled] } } },
      // Without isolation the project's files share one workerd runtime and one module graph and
      // run one after another: the Worker is imported once, not once per file. Storage (R2,
      // Durable Objects) and module state then carry over from file to file; files that need their
      // own go in the isolated project instead.
      isolate: opts.isolate,
      // Vitest hands a non-isolated project to its runtime as one batch of files only when the
      // project runs on one worker and leads its group; otherwise it sends file after file to the
      // same runtime, and this pool version wraps the runtime's module loader once more for each,
      // until imports crawl. Hence one worker and a group of its own (groups run one after
      // another; on two cores everything does anyway).
      ...(opts.isolate ? {} : { maxWorkers: 1, sequence: { groupOrder: 1 } }),
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
        ['test/**/*.node.test.ts', 'test/outage/**', ...ownRuntime],
        './test/setup/global-setup.ts',
        { isolate: false },
      ),
      // Files that each get a fresh runtime and storage of their own, on a database of their own.
      workersProject('workers-isolated', ownRuntime, [], './test/setup/global-setup.ts', { isolate: true }),
      // Tests that take the database away, on their own database and Neon stand-in.
      workersProject('outage', ['test/outage/**/*.test.ts'], [], './test/setup/global-setup.ts', {
        isolate: true,
      }),
      {
        test: {
          name: 'node',
          environment: 'node',
          include: ['test/**/*.node.test.ts'],
          testTimeout: 30_000,
        },
      },
    ],
  },
})
