import { HTTPException } from 'hono/http-exception'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { requestId } from 'hono/request-id'
import { secureHeaders } from 'hono/secure-headers'
import { type Config, ConfigError, type Environment, loadConfig } from './config'
import { ApiError, codeForStatus } from './lib/http/errors'
import { createLogger, describeError, everyInterval } from './lib/log'
import { databaseFailure, databaseRetryAfterSeconds } from './db/errors'
import { problemResponse } from './lib/http/problem'
import { isUploadRoute } from './lib/http/upload'
import { type Router, createRouter } from './lib/http/router'
import { accessLog } from './middleware/access-log'
import { clientIp } from './middleware/client-ip'
import { privateByDefault } from './middleware/http-cache'
import { services } from './middleware/services'
import { accountRouter } from './routes/account/account.index'
import { adminBansRouter } from './routes/admin-bans/admin-bans.index'
import { registerDocs } from './routes/docs/docs.index'
import { authRouter } from './routes/auth/auth.index'
import { billingRouter } from './routes/billing/billing.index'
import { socialSignInRouter } from './routes/social-sign-in/social-sign-in.index'
import { chatRouter } from './routes/chat/chat.index'
import { conversationsRouter } from './routes/conversations/conversations.index'
import { clubsRouter } from './routes/clubs/clubs.index'
import { feedRouter } from './routes/feed/feed.index'
import { flairRouter } from './routes/flair/flair.index'
import { shareRouter } from './routes/share/share.index'
import { healthRouter } from './routes/health/health.index'
import { mediaRouter } from './routes/media/media.index'
import { meRouter } from './routes/me/me.index'
import { moderationRouter } from './routes/moderation/moderation.index'
import { operatorsRouter } from './routes/operators/operators.index'
import { photosRouter } from './routes/photos/photos.index'
import { placesRouter } from './routes/places/places.index'
import { onboardingRouter } from './routes/onboarding/onboarding.index'
import { personalityRouter } from './routes/personality/personality.index'
import { notificationSettingsRouter } from './routes/notification-settings/notification-settings.index'
import { pushRouter } from './routes/push/push.index'
import { profilesRouter } from './routes/profiles/profiles.index'
import { skipsRouter } from './routes/skips/skips.index'
import { statsRouter } from './routes/stats/stats.index'
import { rateLimitsRouter } from './routes/rate-limits/rate-limits.index'
import { searchRouter } from './routes/search/search.index'
import { socketsRouter } from './routes/sockets/sockets.index'
import { tasksRouter } from './routes/tasks/tasks.index'
import { tiersRouter } from './routes/tiers/tiers.index'
import { usersAdminRouter } from './routes/users-admin/users-admin.index'
import { verificationRouter } from './routes/verification/verification.index'
import { visitorsRouter } from './routes/visitors/visitors.index'
import { voiceBioRouter } from './routes/voice-bio/voice-bio.index'

export type App = Router

// CORS and body-limit middleware depend on config; build them once per config object.
const perConfig = new WeakMap<
  Config,
  { cors: ReturnType<typeof cors>; bodyLimit: ReturnType<typeof bodyLimit> }
>()
function configuredMiddleware(config: Config) {
  let mw = perConfig.get(config)
  if (!mw) {
    const origins = config.http.corsOrigins
    const anyOrigin = origins.length === 0 || origins.includes('*')
    mw = {
      cors: cors({
        origin: anyOrigin ? '*' : (origin) => (origins.includes(origin) ? origin : null),
        // Credentialed requests (the refresh cookie) are only possible with an explicit allow-list.
        credentials: !anyOrigin,
        allowHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key'],
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        exposeHeaders: [
          'X-Request-Id',
          'Retry-After',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'RateLimit-Reset',
          'ETag',
        ],
        maxAge: 600,
      }),
      bodyLimit: bodyLimit({
        maxSize: config.http.maxBodyBytes,
        onError: () => {
          throw new ApiError(
            'payload_too_large',
            `The request body exceeds ${config.http.maxBodyBytes} bytes`,
          )
        },
      }),
    }
    perConfig.set(config, mw)
  }
  return mw
}

/**
 * Build the Hono app for one environment. Routes that exist only in some environments (the
 * API docs) are registered or not at build time, so production has no such routes at all.
 */
export function createApp(environment: Environment): App {
  const app = createRouter()

  // A client-supplied id (≤ 128 word characters) is kept so clients can correlate their own logs.
  app.use(requestId({ headerName: 'X-Request-Id', limitLength: 128 }))
  app.use(accessLog)
  // Outermost after logging, so it also sees error responses (401s, problems) of credentialed requests.
  app.use(privateByDefault)
  // Media is embedded by other origins (<img>, <audio> on the web app's origin), which the
  // default Cross-Origin-Resource-Policy (same-origin) would block.
  const apiSecurityHeaders = secureHeaders()
  const mediaSecurityHeaders = secureHeaders({ crossOriginResourcePolicy: 'cross-origin' })
  app.use((c, next) =>
    (c.req.path.startsWith('/media/') ? mediaSecurityHeaders : apiSecurityHeaders)(c, next),
  )
  app.use((c, next) => configuredMiddleware(loadConfig(c.env)).cors(c, next))
  app.use((c, next) =>
    isUploadRoute(c.req.method, c.req.path)
      ? next()
      : configuredMiddleware(loadConfig(c.env)).bodyLimit(c, next),
  )
  app.use(services)
  app.use(clientIp)

  app.route('/', healthRouter)
  app.route('/', socketsRouter)
  app.route('/', chatRouter)
  app.route('/', conversationsRouter)
  app.route('/', authRouter)
  app.route('/', socialSignInRouter)
  app.route('/', billingRouter)
  app.route('/', meRouter)
  app.route('/', accountRouter)
  app.route('/', onboardingRouter)
  app.route('/', profilesRouter)
  app.route('/', personalityRouter)
  app.route('/', photosRouter)
  app.route('/', placesRouter)
  app.route('/', voiceBioRouter)
  app.route('/', mediaRouter)
  app.route('/', operatorsRouter)
  app.route('/', adminBansRouter)
  app.route('/', rateLimitsRouter)
  app.route('/', searchRouter)
  app.route('/', feedRouter)
  app.route('/', flairRouter)
  app.route('/', shareRouter)
  app.route('/', tasksRouter)
  app.route('/', tiersRouter)
  app.route('/', usersAdminRouter)
  app.route('/', verificationRouter)
  app.route('/', skipsRouter)
  app.route('/', moderationRouter)
  app.route('/', clubsRouter)
  app.route('/', visitorsRouter)
  app.route('/', statsRouter)
  app.route('/', pushRouter)
  app.route('/', notificationSettingsRouter)
  registerDocs(app, environment)

  app.notFound((c) => problemResponse(c, 'not_found', `No route for ${c.req.method} ${c.req.path}`))

  app.onError((err, c) => {
    if (err instanceof ApiError) {
      return problemResponse(c, err.code, err.message, {
        errors: err.errors,
        headers: err.headers,
        extensions: err.extensions,
      })
    }
    if (err instanceof HTTPException) {
      // Hono's own validators and middleware (malformed JSON, 415 from zod-openapi's media-type gate).
      const code = codeForStatus(err.status)
      if (err.status < 500) return problemResponse(c, code, err.message || 'Bad request')
    }
    const log = c.get('log') ?? createLogger('error', { requestId: c.get('requestId') })
    const failure = databaseFailure(err)
    if (failure === 'unavailable') {
      // An outage, not a fault of this request: one line per interval, not a stack per request.
      if (databaseOutageLog()) log.error('database.unavailable', { error: describeError(err) })
      return problemResponse(c, 'service_unavailable', 'The database is unreachable; try again shortly', {
        headers: { 'Retry-After': String(databaseRetryAfterSeconds) },
      })
    }
    if (failure === 'invalid_input') {
      // Input validation rejects what Postgres cannot store before handlers run; this is the
      // backstop for a value that still reached it.
      log.warn('database.invalid_input', { error: describeError(err) })
      return problemResponse(c, 'validation_failed', 'A value in the request cannot be stored')
    }
    if (err instanceof ConfigError) {
      log.error('config.invalid', { problems: err.problems })
      return problemResponse(c, 'internal_error', 'The server is misconfigured; the operator has been told')
    }
    log.error('request.unhandled', { error: describeError(err) })
    return problemResponse(
      c,
      'internal_error',
      'An unexpected error occurred; quote the request id when reporting it',
    )
  })

  return app
}

const apps = new Map<Environment, App>()
const databaseOutageLog = everyInterval(60_000)

/** The app for this `env`'s ENVIRONMENT, built on first use and reused by the isolate. */
export function appFor(env: object): App {
  let environment: Environment
  try {
    environment = loadConfig(env).environment
  } catch {
    // Invalid config: any app will do — its middleware rethrows the ConfigError as a 500 problem.
    environment = 'production'
  }
  let app = apps.get(environment)
  if (!app) {
    app = createApp(environment)
    apps.set(environment, app)
  }
  return app
}

export type AppType = ReturnType<typeof createApp>
