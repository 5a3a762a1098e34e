import { z } from 'zod'

/**
 * Every setting the Worker reads, parsed once per `env` object. Non-secret values come from
 * `[vars]` in wrangler.toml, secrets from `wrangler secret put` (or `.dev.vars` locally).
 *
 * Parsing fails fast with one message naming every missing or invalid variable, so a bad deploy
 * is obvious from the first log line instead of surfacing as odd behaviour later.
 *
 * @example
 * const config = loadConfig(env)
 * if (config.environment === 'production') …
 */
const environments = ['local', 'staging', 'production'] as const
export type Environment = (typeof environments)[number]

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max)
const optionalString = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional()

/** host:port of the local Neon stand-in, optionally with `/__tag/<tag>` for its per-client accounting. */
const neonLocalProxy = z
  .string()
  .regex(/^[\w.-]+:\d{1,5}(\/__tag\/[\w-]{1,64})?$/, 'expected host:port')
  .optional()

/** A comma-separated list, empty entries dropped. */
const list = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )

/** `key:tier,key:tier` — a product, entitlement or price id mapped to a tier name. */
const tierMap = z
  .string()
  .default('')
  .transform((v, ctx) => {
    const out = new Map<string, string>()
    for (const item of v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean)) {
      const match = /^([^:\s]+):([^:\s]+)$/.exec(item)
      if (!match) {
        ctx.addIssue({ code: 'custom', message: `"${item}" is not id:tier` })
        return z.NEVER
      }
      out.set(match[1]!, match[2]!)
    }
    return out
  })

/** URLs of third parties: plain http (a local fake on loopback) only when ENVIRONMENT=local. */
const serviceUrl = (fallback: string) => z.url().default(fallback)

const configSchema = z
  .object({
    ENVIRONMENT: z.enum(environments).default('local'),
    DATABASE_URL: z
      .string({ error: 'is required (postgres://user:password@host/db)' })
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// connection string'),
    NEON_LOCAL_PROXY: neonLocalProxy,
    UPSTASH_REDIS_REST_URL: z.url({ error: 'is required (https URL of the Upstash REST API)' }),
    UPSTASH_REDIS_REST_TOKEN: z.string({ error: 'is required' }).min(1, 'is required'),
    JWT_SECRET: z
      .string({ error: 'is required (at least 32 characters)' })
      .min(32, 'must be at least 32 characters'),
    JWT_ALGORITHM: z.enum(['HS256', 'HS384', 'HS512']).default('HS256'),
    JWT_ISSUER: z.string().min(1).default('rapport'),
    JWT_AUDIENCE: z.string().min(1).default('rapport-api'),
    ACCESS_TOKEN_TTL_MINUTES: int(1, 24 * 60).default(30),
    REFRESH_TOKEN_TTL_DAYS: int(1, 365).default(7),
    CORS_ORIGINS: z.string().default('*'),
    TRUSTED_PROXY_HOPS: int(0, 10).default(0),
    MAX_BODY_BYTES: int(1024, 100 * 1024 * 1024).default(1024 * 1024),
    LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
    // The boilerplate's 10 per hour was meant for its one limited route; applied to every route of
    // a whole API it would stop an app after ten screens. 600 per minute per caller and route
    // (10/s sustained) leaves any real client alone and still caps a scripted loop.
    DEFAULT_RATE_LIMIT_LIMIT: int(1, 1_000_000).default(600),
    DEFAULT_RATE_LIMIT_PERIOD: int(1, 30 * 24 * 3600).default(60),
    RATE_LIMIT_FAIL_MODE: z.enum(['open', 'closed']).default('open'),
    OTP_SENDS_PER_MINUTE: int(1, 1000).default(3),
    SIGN_IN_ATTEMPTS_PER_DAY: int(1, 100_000).default(40),
    MAX_SESSIONS_PER_USER: int(1, 10_000).default(100),
    CLIENT_CACHE_MAX_AGE: int(0, 365 * 24 * 3600).default(30),
    SMTP_HOST: optionalString,
    SMTP_PORT: int(1, 65535).default(587),
    SMTP_USER: optionalString,
    SMTP_PASS: optionalString,
    SMTP_SECURE: z.enum(['starttls', 'tls', 'none']).default('starttls'),
    SMTP_FROM: optionalString,
    // Public hostnames of the media buckets (terraform output media_base_urls). Unset: media is
    // served by the Worker itself under /media/<bucket>/<key>.
    IMAGES_PUBLIC_URL: z.url().optional(),
    // Where clients reach this API (scheme and host, e.g. https://api.rapport.example): media URLs
    // served by the Worker itself are built from it, so every response and socket frame carries
    // the same absolute URL. Required outside local; locally `npm run dev` sets its own address.
    PUBLIC_URL: z.url().optional(),
    AUDIO_PUBLIC_URL: z.url().optional(),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: z.url().default('https://api.openai.com/v1'),
    // The verification thresholds were tuned against gpt-4.1.
    OPENAI_MODEL: z.string().min(1).default('gpt-4.1'),
    OPENAI_TIMEOUT_MS: int(100, 600_000).default(45_000),
    // Moderators who receive report emails: `addr[:weight]`, comma-separated; one is drawn per report.
    REPORT_EMAILS: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const out: { address: string; weight: number }[] = []
        const items = v.split(',').map((x) => x.trim())
        for (const item of items.filter(Boolean)) {
          const [address = '', weight = '1'] = item.split(/:(?=\d+$)/)
          if (!z.email().safeParse(address).success || !/^[1-9]\d{0,3}$/.test(weight)) {
            ctx.addIssue({ code: 'custom', message: `"${item}" is not address or address:weight (1-9999)` })
            return z.NEVER
          }
          out.push({ address, weight: Number(weight) })
        }
        return out
      }),
    // No static default: it depends on ENVIRONMENT (see shapeConfig). A TOML boolean in [vars]
    // arrives as a boolean, a secret or --var as a string.
    // Expo's push service (base of /send and /getReceipts); the local stack points it at its fake.
    EXPO_PUSH_URL: z.url().default('https://exp.host/--/api/v2/push'),
    // Sent as a Bearer token when set: required once "enhanced push security" is on in Expo.
    EXPO_ACCESS_TOKEN: optionalString,
    // Web Push (VAPID, RFC 8292): `npm run vapid:generate` prints a pair. Unset: browsers cannot
    // subscribe (registration answers 409) and nothing is sent to them.
    VAPID_PUBLIC_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{87}$/, 'must be a base64url uncompressed P-256 point (65 bytes)')
      .optional(),
    VAPID_PRIVATE_KEY: z
      .string()
      .regex(/^[A-Za-z0-9_-]{43}$/, 'must be a base64url P-256 private scalar (32 bytes)')
      .optional(),
    VAPID_SUBJECT: z
      .string()
      .regex(/^(mailto:|https:\/\/)/, 'must be a mailto: or https: contact')
      .default('mailto:push@rapport.example'),
    // Hosts a browser push subscription's endpoint may name (suffix match), so the Worker never
    // POSTs to arbitrary URLs; the defaults are the browsers' push services.
    WEB_PUSH_ENDPOINT_HOSTS: z
      .string()
      .default(
        'fcm.googleapis.com,updates.push.services.mozilla.com,push.services.mozilla.com,notify.windows.com,push.apple.com',
      ),
    // Sign in with Google: the OAuth client ids (web, iOS, Android) whose ID tokens are accepted.
    GOOGLE_CLIENT_IDS: list,
    GOOGLE_JWKS_URL: serviceUrl('https://www.googleapis.com/oauth2/v3/certs'),
    GOOGLE_ISSUERS: z.string().default('https://accounts.google.com,accounts.google.com'),
    // Sign in with Apple: bundle ids (native) and Services IDs (web) accepted as `aud`.
    APPLE_CLIENT_IDS: list,
    APPLE_JWKS_URL: serviceUrl('https://appleid.apple.com/auth/keys'),
    APPLE_ISSUER: z.string().min(1).default('https://appleid.apple.com'),
    // Where the web flow may send the browser after Apple's form_post (exact URLs, no prefixes).
    APPLE_REDIRECT_URLS: list.pipe(z.array(z.url())),
    // RevenueCat webhook: SHA-256 (hex) of the Authorization header value set in its dashboard.
    REVENUECAT_WEBHOOK_AUTH_SHA256: optionalString.pipe(
      z
        .string()
        .regex(/^[0-9a-f]{64}$/, 'must be a lower-case hex SHA-256')
        .optional(),
    ),
    REVENUECAT_WEBHOOK_SIGNING_SECRET: optionalString,
    REVENUECAT_ENTITLEMENT_TIERS: tierMap,
    STRIPE_SECRET_KEY: optionalString,
    STRIPE_WEBHOOK_SECRET: optionalString,
    STRIPE_API_URL: serviceUrl('https://api.stripe.com'),
    STRIPE_PRICE_TIERS: tierMap,
    // Where Stripe's hosted pages send the member back (checkout success/cancel, portal).
    STRIPE_RETURN_URL: z.url().optional(),
    STRIPE_WEBHOOK_TOLERANCE_SECONDS: int(1, 3600).default(300),
    // Members onboarded before this instant wear the early-adopter flair. Unset: nobody does.
    EARLY_ADOPTER_CUTOFF: z.iso.datetime({ offset: true }).optional(),
    // IP reputation lists checked before a sign-in code is sent: `name=url`, comma-separated (e.g.
    // FireHOL abusers-30d, FireHOL anonymous and StopForumSpam 365d). Empty: no check.
    IP_REPUTATION_LISTS: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const out: { name: string; url: string }[] = []
        for (const item of v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)) {
          const [name = '', url = ''] = item.split(/=(.*)/s)
          if (!/^[a-z0-9_-]{1,64}$/.test(name) || !z.url().safeParse(url).success) {
            ctx.addIssue({ code: 'custom', message: `"${item}" is not name=url` })
            return z.NEVER
          }
          out.push({ name, url })
        }
        return out
      }),
    // Addresses or CIDR ranges never refused by the IP reputation check, comma-separated.
    IP_REPUTATION_ALLOW: z
      .string()
      .default('')
      .transform((v, ctx) => {
        const out = v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean)
        const bad = out.find((x) => !/^[0-9a-f.:]{2,45}(\/\d{1,3})?$/i.test(x))
        if (bad) {
          ctx.addIssue({ code: 'custom', message: `"${bad}" is not an IP address or CIDR range` })
          return z.NEVER
        }
        return out
      }),
    // The check's time budget: past it, sign-in goes ahead (fail open). One Neon round trip
    // from the edge takes a few to a few tens of milliseconds.
    IP_REPUTATION_TIMEOUT_MS: int(1, 5000).default(50),
    INACTIVITY_DEACTIVATION_DRY_RUN: z
      .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
      .optional(),
  })
  .superRefine((v, ctx) => {
    if (v.ENVIRONMENT !== 'local' && v.NEON_LOCAL_PROXY) {
      ctx.addIssue({
        code: 'custom',
        path: ['NEON_LOCAL_PROXY'],
        message: 'is only allowed when ENVIRONMENT=local',
      })
    }
    if (Boolean(v.VAPID_PUBLIC_KEY) !== Boolean(v.VAPID_PRIVATE_KEY)) {
      ctx.addIssue({
        code: 'custom',
        path: [v.VAPID_PUBLIC_KEY ? 'VAPID_PRIVATE_KEY' : 'VAPID_PUBLIC_KEY'],
        message: 'must be set together with its pair',
      })
    }
    if (v.ENVIRONMENT !== 'local' && !v.PUBLIC_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['PUBLIC_URL'],
        message: `is required when ENVIRONMENT=${v.ENVIRONMENT}`,
      })
    }
    if (v.ENVIRONMENT !== 'local') {
      // The local OpenID provider, purchase and push fakes speak plain http on loopback; anywhere
      // else keys, payments and pushes go only to the real services over https.
      for (const key of ['GOOGLE_JWKS_URL', 'APPLE_JWKS_URL', 'STRIPE_API_URL', 'EXPO_PUSH_URL'] as const) {
        if (!v[key].startsWith('https://')) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'must be https outside ENVIRONMENT=local' })
        }
      }
    }
    if (v.STRIPE_SECRET_KEY && !v.STRIPE_RETURN_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['STRIPE_RETURN_URL'],
        message: 'is required with STRIPE_SECRET_KEY',
      })
    }
    if (v.ENVIRONMENT === 'production') {
      for (const key of ['SMTP_HOST', 'SMTP_FROM'] as const) {
        if (!v[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'is required in production' })
      }
    }
  })

export type Config = ReturnType<typeof shapeConfig>

function shapeConfig(v: z.output<typeof configSchema>) {
  return {
    environment: v.ENVIRONMENT,
    database: { url: v.DATABASE_URL, localProxy: v.NEON_LOCAL_PROXY },
    redis: { url: v.UPSTASH_REDIS_REST_URL, token: v.UPSTASH_REDIS_REST_TOKEN },
    jwt: {
      secret: v.JWT_SECRET,
      algorithm: v.JWT_ALGORITHM,
      issuer: v.JWT_ISSUER,
      audience: v.JWT_AUDIENCE,
      accessTtlSeconds: v.ACCESS_TOKEN_TTL_MINUTES * 60,
      refreshTtlSeconds: v.REFRESH_TOKEN_TTL_DAYS * 24 * 3600,
    },
    http: {
      corsOrigins: v.CORS_ORIGINS.split(',')
        .map((o) => o.trim())
        .filter(Boolean),
      trustedProxyHops: v.TRUSTED_PROXY_HOPS,
      maxBodyBytes: v.MAX_BODY_BYTES,
      clientCacheMaxAge: v.CLIENT_CACHE_MAX_AGE,
    },
    logLevel: v.LOG_LEVEL,
    rateLimit: {
      defaultLimit: v.DEFAULT_RATE_LIMIT_LIMIT,
      defaultPeriodSeconds: v.DEFAULT_RATE_LIMIT_PERIOD,
      failMode: v.RATE_LIMIT_FAIL_MODE,
      otpSendsPerMinute: v.OTP_SENDS_PER_MINUTE,
      signInAttemptsPerDay: v.SIGN_IN_ATTEMPTS_PER_DAY,
    },
    auth: { maxSessionsPerUser: v.MAX_SESSIONS_PER_USER, otpTtlSeconds: 600, otpMaxAttempts: 5 },
    smtp: v.SMTP_HOST
      ? {
          host: v.SMTP_HOST,
          port: v.SMTP_PORT,
          user: v.SMTP_USER,
          pass: v.SMTP_PASS,
          secure: v.SMTP_SECURE,
          from: v.SMTP_FROM ?? `no-reply@${v.SMTP_HOST}`,
        }
      : undefined,
    /** This API's public base URL, no trailing slash; wrangler dev's default address when unset locally. */
    publicUrl: (v.PUBLIC_URL ?? 'http://localhost:8787').replace(/\/+$/, ''),
    media: {
      imagesPublicUrl: v.IMAGES_PUBLIC_URL?.replace(/\/+$/, ''),
      audioPublicUrl: v.AUDIO_PUBLIC_URL?.replace(/\/+$/, ''),
    },
    openai: {
      apiKey: v.OPENAI_API_KEY,
      baseUrl: v.OPENAI_BASE_URL.replace(/\/+$/, ''),
      model: v.OPENAI_MODEL,
      timeoutMs: v.OPENAI_TIMEOUT_MS,
    },
    moderation: { reportEmails: v.REPORT_EMAILS },
    push: {
      expoUrl: v.EXPO_PUSH_URL.replace(/\/+$/, ''),
      expoAccessToken: v.EXPO_ACCESS_TOKEN,
      vapid:
        v.VAPID_PUBLIC_KEY && v.VAPID_PRIVATE_KEY
          ? { publicKey: v.VAPID_PUBLIC_KEY, privateKey: v.VAPID_PRIVATE_KEY, subject: v.VAPID_SUBJECT }
          : undefined,
      webEndpointHosts: v.WEB_PUSH_ENDPOINT_HOSTS.split(',')
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      // Plain-http endpoints (the local fake) only on a local stack.
      allowHttpEndpoints: v.ENVIRONMENT === 'local',
    },
    identity: {
      google: {
        clientIds: v.GOOGLE_CLIENT_IDS,
        jwksUrl: v.GOOGLE_JWKS_URL,
        issuers: v.GOOGLE_ISSUERS.split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      },
      apple: {
        clientIds: v.APPLE_CLIENT_IDS,
        jwksUrl: v.APPLE_JWKS_URL,
        issuer: v.APPLE_ISSUER,
        redirectUrls: v.APPLE_REDIRECT_URLS,
      },
    },
    billing: {
      revenueCat: {
        authSha256: v.REVENUECAT_WEBHOOK_AUTH_SHA256,
        signingSecret: v.REVENUECAT_WEBHOOK_SIGNING_SECRET,
        entitlementTiers: v.REVENUECAT_ENTITLEMENT_TIERS,
      },
      stripe: {
        secretKey: v.STRIPE_SECRET_KEY,
        webhookSecret: v.STRIPE_WEBHOOK_SECRET,
        apiUrl: v.STRIPE_API_URL.replace(/\/+$/, ''),
        priceTiers: v.STRIPE_PRICE_TIERS,
        returnUrl: v.STRIPE_RETURN_URL,
        toleranceSeconds: v.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      },
    },
    flair: { earlyAdopterCutoff: v.EARLY_ADOPTER_CUTOFF ? new Date(v.EARLY_ADOPTER_CUTOFF) : null },
    ipReputation: {
      lists: v.IP_REPUTATION_LISTS,
      allow: v.IP_REPUTATION_ALLOW,
      timeoutMs: v.IP_REPUTATION_TIMEOUT_MS,
    },
    jobs: {
      // Dry run outside production: a local or staging stack holding a copy of real data must not
      // deactivate (and email) real people; production, where the job is meant to act, acts.
      inactivityDryRun: v.INACTIVITY_DEACTIVATION_DRY_RUN ?? v.ENVIRONMENT !== 'production',
    },
  }
}

/** Raised when the environment does not describe a runnable Rapport. */
export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`)
    this.name = 'ConfigError'
  }
}

/**
 * Parse a plain record of variables (a Worker `env`, or `process.env` in Node scripts).
 * Throws {@link ConfigError} listing every problem at once.
 */
export function parseConfig(vars: Record<string, unknown>): Config {
  const result = configSchema.safeParse(vars)
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(root)'),
        message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
      })),
    )
  }
  return shapeConfig(result.data)
}

// Worker `env` objects are stable for the isolate's lifetime, so parse each once.
const cache = new WeakMap<object, Config>()

/** {@link parseConfig} memoised per Worker `env` object. */
export function loadConfig(env: object): Config {
  let config = cache.get(env)
  if (!config) {
    config = parseConfig(env as Record<string, unknown>)
    cache.set(env, config)
  }
  return config
}
