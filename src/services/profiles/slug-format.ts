/**
 * Profile URL slugs (`/api/v1/profiles/{idOrSlug}`, and the web app's `/<slug>`): derived from the
 * member's name, lower-case ASCII words joined by hyphens, at most 40 characters, never one of the
 * app's own path words and never shaped like an id, so a slug can share a URL position with ids and
 * routes without ever being mistaken for one. Uniqueness is the database's job
 * (src/services/profiles/slugs.ts retries with a numeric suffix).
 *
 * The functions that transliterate are async: the transliteration tables are imported on first
 * use, because compiling them costs milliseconds that a Worker's start-up should not pay for a
 * request that never names anyone.
 */

// The loaded function, never the import's promise: a request must not await another's work.
let transliterator: ((text: string) => string) | undefined

async function transliterate(text: string): Promise<string> {
  transliterator ??= (await import('@sindresorhus/transliterate')).default
  return transliterator(text)
}

export const maxSlugLength = 40

/**
 * Words a slug may never be: the path segments Rapport serves at the top level and under /api/v1
 * (test/workers/profiles/slugs.ts checks every documented route against this list), and the ones a web
 * app, a future route or an impersonator would want.
 */
export const reservedSlugs: ReadonlySet<string> = new Set([
  // Routes served today, top level and under /api/v1.
  ...['api', 'v1', 'v2', 'health', 'ready', 'docs', 'openapi', 'openapi-json', 'media', 'admin', 'auth'],
  ...['login', 'logout', 'refresh', 'otp', 'me', 'onboarding', 'profiles', 'profile', 'photos', 'photo'],
  ...['voice-bio', 'verification', 'selfie', 'places', 'place', 'conversations', 'hub', 'socket', 'tasks'],
  ...['task', 'tier', 'tiers', 'rate-limit', 'rate-limits', 'user', 'users', 'db-user', 'bans', 'ban'],
  ...['sessions', 'session', 'deactivate', 'export', 'export-token', 'operators', 'operator', 'restore'],
  ...['share', 'flair', 'push', 'web-push', 'vapid', 'notification-settings', 'google', 'apple', 'stripe'],
  ...['subscription', 'subscriptions', 'purchase', 'purchases', 'checkout', 'portal', 'identities'],
  // Path words Rapport's web app uses or will use.
  ...['search', 'public-search', 'quiz', 'questions', 'question', 'answers', 'answer', 'personality'],
  ...['compare', 'clubs', 'club', 'skip', 'skips', 'unskip', 'report', 'reports', 'visitors', 'visits'],
  ...['inbox', 'messages', 'message', 'chat', 'chats', 'feed', 'stats', 'gender-stats', 'filters'],
  ...['search-filters', 'locations', 'location', 'revenuecat', 'webhook', 'webhooks', 'cron', 'queue'],
  // A web app's own pages and well-known files.
  ...['app', 'apps', 'www', 'web', 'static', 'assets', 'public', 'cdn', 'images', 'img', 'audio', 'files'],
  ...['favicon', 'favicon-ico', 'robots', 'robots-txt', 'sitemap', 'sitemap-xml', 'well-known', 'home'],
  ...['index', 'dashboard', 'settings', 'preferences', 'account', 'accounts', 'signin', 'sign-in', 'signup'],
  ...['sign-up', 'signout', 'sign-out', 'log-in', 'log-out', 'register', 'join', 'oauth', 'callback'],
  ...['verify', 'confirm', 'reset', 'password', 'token', 'welcome', 'start', 'discover', 'explore'],
  ...['browse', 'matches', 'match', 'likes', 'like', 'notifications', 'people', 'person', 'member'],
  ...['members', 'my', 'mine', 'you', 'new', 'edit', 'delete', 'create', 'update', 'download', 'ios'],
  ...['android', 'graphql', 'rest', 'rpc', 'ws'],
  // Words that would let a member pass for the service or its staff.
  ...['rapport', 'official', 'support', 'help', 'about', 'contact', 'terms', 'tos', 'privacy', 'legal'],
  ...['security', 'safety', 'trust', 'status', 'blog', 'news', 'press', 'jobs', 'careers', 'pricing'],
  ...['gold', 'premium', 'upgrade', 'billing', 'donate', 'shop', 'store', 'faq', 'guidelines'],
  ...['community', 'feedback', 'invite', 'invites', 'referral', 'staff', 'team', 'moderator'],
  ...['moderators', 'moderation', 'mod', 'mods', 'administrator', 'root', 'system', 'bot', 'bots'],
  ...['info', 'mail', 'email', 'test', 'example', 'anonymous', 'guest', 'null', 'undefined', 'true'],
  ...['false', 'none', 'nil'],
])

/**
 * Whether `slug` could be taken for an id: all digits, a UUID (with or without hyphens), or 32 or
 * 64 hexadecimal characters (the photo and token ids).
 *
 * @example
 * looksLikeId('12345') // true
 * looksLikeId('0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d') // true
 * looksLikeId('ada-lovelace') // false
 */
export function looksLikeId(slug: string): boolean {
  return (
    /^\d+$/.test(slug) ||
    /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(slug) ||
    /^(?:[0-9a-f]{32}|[0-9a-f]{64})$/i.test(slug)
  )
}

/**
 * Whether `slug` is well-formed and may be used: lower-case letters and digits in hyphen-joined
 * words, 1–40 characters, not reserved, not id-shaped.
 *
 * @example
 * isUsableSlug('ada-lovelace') // true
 * isUsableSlug('admin') // false
 */
export function isUsableSlug(slug: string): boolean {
  return (
    slug.length > 0 &&
    slug.length <= maxSlugLength &&
    /^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(slug) &&
    !reservedSlugs.has(slug) &&
    !looksLikeId(slug)
  )
}

/** Cut to `max` characters without leaving a hyphen at the end. */
function cut(slug: string, max: number): string {
  return slug.slice(0, max).replace(/-+$/, '')
}

/**
 * The slug form of a name: transliterated to Latin letters ("Zoë" → "zoe", "Дмитрий" → "dmitriy",
 * "Jürgen" → "juergen"), lower-cased, every run of anything else one hyphen, at most 40 characters.
 * Empty when nothing Latin is left (emoji, scripts the transliteration table lacks, such as CJK).
 *
 * @example
 * await slugify('  Ada  Lovelace! ') // 'ada-lovelace'
 * await slugify('🌸🌸') // ''
 */
export async function slugify(name: string): Promise<string> {
  // Invisible characters (zero-width spaces, bidi controls) would otherwise split words.
  const latin = (await transliterate(name.normalize('NFKC').replace(/\p{Cf}+/gu, '')))
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
  return cut(latin.replace(/[^a-z0-9]+/g, '-').replace(/^-+/, ''), maxSlugLength)
}

/** Words for members whose names leave no usable slug ("🌸" → "willow-4821"). */
export const fallbackWords = [
  'amber',
  'aspen',
  'aurora',
  'birch',
  'brook',
  'cedar',
  'clover',
  'coral',
  'dawn',
  'ember',
  'fern',
  'finch',
  'fjord',
  'glade',
  'harbor',
  'hazel',
  'heron',
  'indigo',
  'iris',
  'ivy',
  'jade',
  'juniper',
  'lark',
  'laurel',
  'linden',
  'lotus',
  'maple',
  'meadow',
  'moss',
  'nova',
  'olive',
  'opal',
  'orchid',
  'pebble',
  'poppy',
  'prairie',
  'quartz',
  'raven',
  'reed',
  'river',
  'robin',
  'rowan',
  'sage',
  'sierra',
  'sparrow',
  'spruce',
  'starling',
  'summit',
  'swift',
  'thistle',
  'tide',
  'topaz',
  'willow',
  'wren',
  'zephyr',
] as const

/** A uniformly random integer in [0, n), from the platform's CSPRNG unless `random` is given. */
function randomBelow(n: number, random?: () => number): number {
  if (random) return Math.floor(random() * n)
  return crypto.getRandomValues(new Uint32Array(1))[0]! % n
}

/** `digits` random decimal digits, the first never 0 (so the suffix reads as a number). */
function randomDigits(digits: number, random?: () => number): string {
  let out = String(1 + randomBelow(9, random))
  for (let i = 1; i < digits; i++) out += String(randomBelow(10, random))
  return out
}

/**
 * The slugs to try for `name`, in order, `attempts` of them: the plain slug first when it is
 * usable ("ada-lovelace"), then the same with a random numeric suffix that grows by one digit per
 * attempt ("ada-lovelace-7", "ada-lovelace-42", "ada-lovelace-815" …). A
 * reserved or id-shaped slug ("admin", "12345") starts at the suffixed forms; a name with no
 * usable slug at all uses a random word ("willow-7" …). `random` (0 ≤ x < 1) replaces the CSPRNG in
 * tests.
 *
 * @example
 * await slugCandidates('Ada Lovelace', 3) // ['ada-lovelace', 'ada-lovelace-7', 'ada-lovelace-42']
 */
export async function slugCandidates(
  name: string,
  attempts: number,
  random?: () => number,
): Promise<string[]> {
  const base = await slugify(name)
  const root = base || fallbackWords[randomBelow(fallbackWords.length, random)]!
  const out: string[] = []
  if (base && isUsableSlug(base)) out.push(base)
  for (let digits = 1; out.length < attempts; digits++) {
    const suffix = randomDigits(digits, random)
    out.push(`${cut(root, maxSlugLength - suffix.length - 1)}-${suffix}`)
  }
  return out
}

/**
 * What a name's slug will look like (before any suffix a taken slug needs), and whether it is a
 * random word because the name has no usable Latin form — for showing members their profile URL
 * as they type their name.
 *
 * @example
 * await previewUrlSlug('Ada Lovelace') // { urlSlug: 'ada-lovelace', isRandom: false }
 * await previewUrlSlug('山田') // { urlSlug: 'aurora-3', isRandom: true } (the word and digit are random)
 */
export async function previewUrlSlug(
  name: string,
  random?: () => number,
): Promise<{ urlSlug: string; isRandom: boolean }> {
  const [urlSlug] = await slugCandidates(name, 1, random)
  return { urlSlug: urlSlug!, isRandom: (await slugify(name)) === '' }
}

/**
 * Whether `slug` is one {@link slugCandidates} could have made for `name`: its plain slug, or that
 * (or, for names with no usable slug, a fallback word) with a numeric suffix. Renaming to a name
 * that yields the same slug then keeps the member's URL.
 *
 * @example
 * await slugFitsName('ada-lovelace-42', 'Ada LOVELACE') // true
 * await slugFitsName('ada-lovelace-42', 'Ada Byron') // false
 */
export async function slugFitsName(slug: string, name: string): Promise<boolean> {
  const base = await slugify(name)
  if (base && slug === base) return isUsableSlug(slug)
  const match = /^(.+)-([1-9]\d*)$/.exec(slug)
  if (!match) return false
  const [, root, suffix] = match as unknown as [string, string, string]
  if (!base) return (fallbackWords as readonly string[]).includes(root)
  // The root is the base cut to leave room for the suffix, exactly as slugCandidates cuts it.
  return cut(base, maxSlugLength - suffix.length - 1) === root
}
