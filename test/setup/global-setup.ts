import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { createRequire } from 'node:module'
import type IORedisClient from 'ioredis'
import type { TestProject } from 'vitest/node'
import { applyMigrations } from '../../scripts/migrate'
import { startLocalStack } from '../../scripts/local-stack'
import { startIpListServer } from '../../scripts/local-stack/ip-lists'
import { startOpenAiFake } from '../../scripts/local-stack/openai-fake'
import { startPushFake } from '../../scripts/local-stack/push-fake'
import { generateVapidKeys } from '../../scripts/vapid-generate'
import { startSmtpSink } from '../../scripts/local-stack/smtp-sink'
import { startOpenIdProvider } from '../../scripts/local-stack/openid-provider'
import { startStripeFake } from '../../scripts/local-stack/stripe-fake'
import { testAppleClientIds, testGoogleClientIds, testStripe } from '../support/constants'

// Loaded through Node's own require: this file is the global setup of two projects, and the test
// runner's module evaluator cannot evaluate ioredis' CommonJS build a second time.
const IORedis = createRequire(import.meta.url)('ioredis') as typeof IORedisClient

/**
 * Brings up what the workerd tests talk to: a fresh database on the machine's real PostgreSQL
 * (migrated, dropped afterwards) and the Neon and Upstash stand-ins in front of the real
 * PostgreSQL and Redis. Values reach the Worker as bindings through `provide`/`inject`.
 *
 * TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/postgres) names a server and a
 * database to connect to for CREATE/DROP DATABASE; TEST_REDIS_URL (default
 * redis://127.0.0.1:6379/14) names the Redis logical database the suite owns and flushes.
 */
export default function setup(project: TestProject) {
  // The tests that take the database away (test/outage/) get their own database and a Neon
  // stand-in with its outage switch on, so an outage there never touches any other test.
  return startTestStack(project, { neonOutageControl: project.name === 'outage' })
}

async function startTestStack(project: TestProject, opts: { neonOutageControl?: boolean }) {
  const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const redisUrl = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/14'
  const dbName = `rapport_test_${process.pid}_${randomBytes(3).toString('hex')}`

  const admin = new pg.Client({ connectionString: adminUrl })
  try {
    await admin.connect()
  } catch (err) {
    throw new Error(
      `Tests need PostgreSQL at ${adminUrl} (${(err as Error).message}). Start it (see README, local stack) ` +
        'or point TEST_PG_URL at one.',
      { cause: err },
    )
  }
  const redis = new IORedis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  })
  try {
    await redis.connect()
    await redis.flushdb()
  } catch (err) {
    await admin.end()
    throw new Error(
      `Tests need Redis at ${redisUrl} (${(err as Error).message}). Start it (.ci/run) or set TEST_REDIS_URL.`,
      { cause: err },
    )
  }

  await admin.query(`create database ${dbName}`)
  const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
  await applyMigrations(databaseUrl)
  // The first tier, as `npm run bootstrap` creates it on a deployment: it is the default tier (the
  // oldest), so it must exist before any test file adds tiers of its own — otherwise whichever file
  // ran first would decide what "the default tier" means for every other one.
  const seed = new pg.Client({ connectionString: databaseUrl })
  await seed.connect()
  try {
    await seed.query(`insert into tiers (name) values ('free') on conflict do nothing`)
  } finally {
    await seed.end()
  }

  const upstashToken = randomBytes(16).toString('hex')
  // stats: tests measure a request's Redis and database cost through tagged stand-in URLs.
  const stack = await startLocalStack({
    databaseUrl,
    redis: redisUrl,
    upstashToken,
    stats: true,
    neonOutageControl: opts.neonOutageControl,
  })

  project.provide('databaseUrl', databaseUrl)
  project.provide('neonProxy', stack.neonProxy)
  project.provide('neonOutageUrl', opts.neonOutageControl ? `http://${stack.neonProxy}/__outage` : '')
  project.provide('upstashUrl', stack.upstash.url)
  project.provide('upstashToken', upstashToken)

  // SMTP sink: the Worker's mailer delivers to it over a real socket; tests read its HTTP API.
  const smtpSink = await startSmtpSink()
  project.provide('smtpPort', smtpSink.smtpPort)
  project.provide('smtpApiUrl', smtpSink.apiUrl)
  project.provide('smtpUser', smtpSink.user)
  project.provide('smtpPass', smtpSink.pass)

  // OpenAI fake: the verification job calls it like the real API; tests script its answers per
  // member (by the request's safety_identifier) through its control API.
  const openAiKey = `sk-test-${randomBytes(12).toString('hex')}`
  const openAi = await startOpenAiFake({ apiKey: openAiKey })
  project.provide('openAiUrl', openAi.url)
  project.provide('openAiKey', openAiKey)

  // Expo push service and browser push endpoint stand-ins; the Expo one demands the access
  // token, so tests prove EXPO_ACCESS_TOKEN is sent.
  const expoAccessToken = `expo-${randomBytes(12).toString('hex')}`
  const push = await startPushFake({ accessToken: expoAccessToken })
  const vapid = await generateVapidKeys()
  project.provide('pushFakeUrl', push.url)
  project.provide('expoPushUrl', push.expoUrl)
  project.provide('expoAccessToken', expoAccessToken)
  project.provide('vapidPublicKey', vapid.publicKey)
  project.provide('vapidPrivateKey', vapid.privateKey)

  // Local OpenID provider: Google- and Apple-shaped key sets the Worker verifies tokens against.
  const idp = await startOpenIdProvider({
    googleClientId: testGoogleClientIds[0]!,
    appleClientId: testAppleClientIds[0]!,
  })
  project.provide('idpUrl', idp.url)
  // Stripe fake: the Worker's checkout and portal calls go to it; tests deliver its signed events.
  const stripe = await startStripeFake({
    secretKey: testStripe.secretKey,
    webhookSecret: testStripe.webhookSecret,
  })
  project.provide('stripeUrl', stripe.url)

  // IP reputation lists: sample files from the repository, served over HTTP like the real lists.
  const ipLists = await startIpListServer()
  project.provide('ipListsUrl', ipLists.url)
  project.provide('ipListsSetting', ipLists.setting)

  return async () => {
    await push.close()
    await idp.close()
    await stripe.close()
    await ipLists.close()
    await openAi.close()
    await smtpSink.close()
    await stack.stop()
    await redis.flushdb().catch(() => {})
    redis.disconnect()
    // FORCE: the stand-ins' pools may still hold idle connections to the database.
    await admin.query(`drop database if exists ${dbName} with (force)`)
    await admin.end()
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    databaseUrl: string
    neonProxy: string
    /** `POST ?down=1|0` here takes the database away or brings it back (outage project only). */
    neonOutageUrl: string
    upstashUrl: string
    upstashToken: string
    smtpPort: number
    smtpApiUrl: string
    smtpUser: string
    smtpPass: string
    openAiUrl: string
    openAiKey: string
    pushFakeUrl: string
    expoPushUrl: string
    expoAccessToken: string
    vapidPublicKey: string
    vapidPrivateKey: string
    idpUrl: string
    stripeUrl: string
    ipListsUrl: string
    ipListsSetting: string
  }
}
