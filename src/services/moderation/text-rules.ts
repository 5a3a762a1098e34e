import {
  DataSet,
  RegExpMatcher,
  englishDataset,
  englishRecommendedBlacklistMatcherTransformers,
  englishRecommendedWhitelistMatcherTransformers,
  pattern,
  remapCharactersTransformer,
} from 'obscenity'

/**
 * Rules for the text members write on their profiles (no rudeness, no spam): no slurs or obscenities anywhere, and in "about" no way to take the conversation —
 * or money — elsewhere: links, email addresses, phone numbers, payment and messaging handles.
 *
 * Every check runs on a normalised copy of the text, so invisible characters, look-alike letters,
 * full-width forms, combining strokes and spaced-out letters ("f u c k", "n.i.g.g.e.r") do not get
 * past it. The text itself is never changed here.
 *
 * The word list is obscenity's English data set (MIT; from the `cuss` project), which already
 * knows the classic false positives ("Scunthorpe", "cocktail", "assassin", "analysis"), plus the
 * slurs it lacks and a few more allowed phrases below. Non-English abuse is not covered.
 */

export type ProfileTextKind = 'name' | 'about' | 'occupation' | 'education' | 'club'

export type TextRuleReason = 'rude' | 'link' | 'email' | 'phone' | 'solicitation'

export type TextVerdict = { ok: true } | { ok: false; reason: TextRuleReason; message: string }

/** What a member is told, per reason: what to change, never the word that matched. */
export const textRuleMessages: Record<TextRuleReason, string> = {
  rude: 'Please keep it friendly: this contains language that is not allowed',
  link: 'Links and web addresses are not allowed here',
  email: 'Email addresses are not allowed here',
  phone: 'Phone numbers are not allowed here',
  solicitation: 'Payment, adult-content and messaging-app handles are not allowed here',
}

// ---------------------------------------------------------------------------------------------
// Normalisation
// ---------------------------------------------------------------------------------------------

/**
 * The text as the checks see it: compatibility forms folded (NFKC: full-width letters and digits,
 * ligatures, mathematical alphanumerics), format characters removed (zero-width spaces and joiners,
 * bidi controls, soft hyphens, tag characters — all \p{Cf}) and every run of white space one space.
 */
function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/\p{Cf}+/gu, '')
    .replace(/[\s\p{Z}]+/gu, ' ')
    .trim()
}

/** Accents and overlaid strokes removed ("n̶i̶g̶g̶e̶r̶", "ſhit"), for the word checks. */
function stripMarks(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .normalize('NFKC')
}

/**
 * Runs of single characters separated by spaces or punctuation joined up: "f u c k", "n.i.g.g.e.r",
 * "o-n-l-y-f-a-n-s". Only runs of three or more single characters are joined, so ordinary prose is
 * left alone ("I a m" is the worst it does, and only to this check copy).
 */
function joinSpacedLetters(text: string): string {
  return text.replace(
    /(?<![\p{L}\p{N}])(?:[\p{L}\p{N}$@][\s.\-_*~|+/\\,:]+){2,}[\p{L}\p{N}$@](?![\p{L}\p{N}])/gu,
    (run) => run.replace(/[\s.\-_*~|+/\\,:]+/g, ''),
  )
}

// ---------------------------------------------------------------------------------------------
// Slurs and obscenities
// ---------------------------------------------------------------------------------------------

/**
 * Words refused in names (members' and clubs') but allowed in prose, where they are ordinary
 * words: "same-sex", "Sex Education", "rape crisis counsellor", "scat singing", a rugby "hooker".
 */
const refusedOnlyInNames = new Set(['sex', 'rape', 'scat', 'hooker'])

/**
 * Slurs obscenity's English data set does not list. `|` marks a word boundary. A function, so the
 * patterns are parsed when the matcher is first built rather than at Worker start-up.
 */
function moreSlurs(): { word: string; patterns: ReturnType<typeof pattern>[] }[] {
  return [
    { word: 'coon', patterns: [pattern`|coon|`, pattern`|coons|`] },
    { word: 'spic', patterns: [pattern`|spic|`, pattern`|spics|`, pattern`|spick|`] },
    { word: 'wetback', patterns: [pattern`wetback`] },
    { word: 'gook', patterns: [pattern`|gook|`, pattern`|gooks|`] },
    { word: 'paki', patterns: [pattern`|paki|`, pattern`|pakis|`] },
    { word: 'raghead', patterns: [pattern`raghead`, pattern`towelhead`] },
    { word: 'wog', patterns: [pattern`|wog|`, pattern`|wogs|`, pattern`golliwog`] },
    { word: 'beaner', patterns: [pattern`|beaner`] },
    { word: 'jap', patterns: [pattern`|jap|`, pattern`|japs|`] },
    { word: 'zipperhead', patterns: [pattern`zipperhead`] },
    { word: 'gyppo', patterns: [pattern`|gyp[p]o|`, pattern`|gyp[p]os|`, pattern`|pikey|`] },
    { word: 'shemale', patterns: [pattern`|shemale`] },
  ]
}

/**
 * Phrases that contain a listed word but are not rude; a match inside one of these is ignored.
 * Compared lower-cased.
 */
const allowedPhrases = [
  'cum laude',
  'summa cum',
  'magna cum',
  'cumin',
  'cumbria',
  'cumberland',
  'rapeseed',
  'shiitake',
  'penistone',
  'pussycat',
  'pussy willow',
  'dickens',
  'dickinson',
  'dickson',
  'maine coon',
  'spic and span',
  'japan',
]

function buildMatcher(names: boolean): RegExpMatcher {
  const dataset = new DataSet<{ originalWord?: string }>()
    .addAll(englishDataset)
    .removePhrasesIf((phrase) => !names && refusedOnlyInNames.has(phrase.metadata?.originalWord ?? ''))
  for (const { word, patterns } of moreSlurs()) {
    dataset.addPhrase((phrase) => {
      phrase.setMetadata({ originalWord: word })
      for (const p of patterns) phrase.addPattern(p)
      return phrase
    })
  }
  const { blacklistedTerms, whitelistedTerms } = dataset.build()
  return new RegExpMatcher({
    blacklistedTerms,
    whitelistedTerms: [...(whitelistedTerms ?? []), ...allowedPhrases],
    // obscenity's leet table has 6 → g but not 9 ("ni99er").
    blacklistMatcherTransformers: [
      remapCharactersTransformer({ g: '9' }),
      ...englishRecommendedBlacklistMatcherTransformers,
    ],
    whitelistMatcherTransformers: englishRecommendedWhitelistMatcherTransformers,
  })
}

// Built on first use, not at module load: compiling the matchers' patterns is work a Worker
// isolate that never checks a profile text should not pay at start-up. (Importing obscenity
// already builds its English data set, milliseconds of start-up: the price of a synchronous API.)
let nameMatcher: RegExpMatcher | undefined
let proseMatcher: RegExpMatcher | undefined

function isRude(kind: ProfileTextKind, copies: string[]): boolean {
  const names = kind === 'name' || kind === 'club'
  const matcher = names ? (nameMatcher ??= buildMatcher(true)) : (proseMatcher ??= buildMatcher(false))
  return copies.some((copy) => matcher.hasMatch(copy))
}

// ---------------------------------------------------------------------------------------------
// Contact details and solicitation (about only)
// ---------------------------------------------------------------------------------------------

const emailAddress = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}-]+(?:\.[\p{L}\p{N}-]+)*\.\p{L}{2,}/u

/** "jane at gmail dot com", "jane(at)example(dot)com", "jane [at] gmail" … */
const obfuscatedEmail = new RegExp(
  String.raw`[\p{L}\p{N}._%+-]+\s*(?:\(\s*at\s*\)|\[\s*at\s*\]|\{\s*at\s*\}|<\s*at\s*>|\s+at\s+|@)\s*` +
    String.raw`(?:(?:g|google|hot|live|ya|proton|gmx|ao|zoho|fast|tuta)?mail|gmail|yahoo|outlook|icloud|aol|msn|yandex|` +
    String.raw`[\p{L}\p{N}-]+\s*(?:\(\s*dot\s*\)|\[\s*dot\s*\]|\{\s*dot\s*\}|<\s*dot\s*>|\s+dot\s+)\s*\p{L}{2,})(?![\p{L}\p{N}])`,
  'iu',
)

/**
 * Top-level domains recognised in bare domains ("example.com", "janedoe.xyz"): the generic ones
 * people actually use, and country codes. Country codes that are also common English words are
 * in {@link wordLikeTlds} instead, so a missing space after a full stop ("…my life.is good") is not
 * taken for a link.
 */
const tlds = new Set(
  (
    'com net org info biz io co ai app dev xyz online site website web club shop store live life link ' +
    'click top vip fun tech space pro page blog tv cc gg ly fm ee ws bio lol xxx sex porn adult cam ' +
    'dating date love chat social email mobi name one world today network cloud digital media news ' +
    'agency studio design art photo photography music games game city band video zone icu buzz ' +
    'uk de fr es ru nl au ca br pl jp cn ch eu nz ie za ua ro cz hu gr pt dk fi kr tw hk sg vn th ph ' +
    'ar cl pe ve ec uy py bo mx cr gt pa ni hn sv cu tr il ir iq sa ae qa kw om eg ma tn dz ng ke gh ' +
    'tz ug et pk bd lk np kz uz ge az lt lv bg hr rs si sk ba mk al su'
  ).split(' '),
)
const wordLikeTlds = new Set(
  'in is it me my no so to us at be by do go am as ad id la ma ne re se st sh'.split(' '),
)

/** Technology names that look like domains. */
const notDomains = new Set(['asp.net', 'vb.net', 'ado.net', 'node.js', 'vue.js', 'next.js'])

const bareDomain =
  /(?<![\p{L}\p{N}@._-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+)([a-z]{2,24})(?![\p{L}\p{N}-])(\/\S*)?/giu

const schemeOrWww =
  /\b(?:https?|ftp):\/\/\S|\bwww\s*(?:\.|\(\s*dot\s*\)|\[\s*dot\s*\]|\s+dot\s+)\s*[\p{L}\p{N}]/iu

/** "example dot com", "example (dot) com", "example[.]com". */
const obfuscatedDomain =
  /(?<![\p{L}\p{N}])([\p{L}\p{N}-]{2,})\s*(?:\(\s*(?:dot|\.)\s*\)|\[\s*(?:dot|\.)\s*\]|\{\s*(?:dot|\.)\s*\}|<\s*dot\s*>|\s+dot\s+)\s*(com|net|org|io|co|me|app|info|xyz|ly|tv|gg|uk|de)(?![\p{L}\p{N}])/giu

/** Words before "dot com" that make it prose ("the dot com bubble"), not an address. */
const proseBeforeDot = new Set('the a an at in of my our this that his her their'.split(' '))

function hasLink(text: string): boolean {
  if (schemeOrWww.test(text)) return true
  for (const match of text.matchAll(bareDomain)) {
    const [, labels, tld, path] = match as unknown as [string, string, string, string | undefined]
    const domain = (labels + tld).toLowerCase()
    if (notDomains.has(domain)) continue
    const firstLabel = labels.split('.')[0]!
    // "B.Sc", "e.g.": one-letter names are almost always abbreviations. Mixed case ("dogs.It") is
    // a sentence missing its space.
    if (firstLabel.length < 2 && !path) continue
    if (tld !== tld.toLowerCase() && tld !== tld.toUpperCase()) continue
    const lower = tld.toLowerCase()
    if (tlds.has(lower) || (wordLikeTlds.has(lower) && path)) return true
  }
  for (const match of text.matchAll(obfuscatedDomain)) {
    if (!proseBeforeDot.has(match[1]!.toLowerCase())) return true
  }
  return false
}

/** Dates and year ranges, removed before looking for phone numbers: "12.05.1990", "2015–2019". */
const datesAndYears =
  /(?<!\p{Nd})(?:\p{Nd}{1,2}[./-]\p{Nd}{1,2}[./-]\p{Nd}{2,4}|\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}|(?:19|20)\p{Nd}{2}\s*[-–—]\s*(?:(?:19|20)\p{Nd}{2}|\p{Nd}{2}))(?!\p{Nd})/gu

const digitWords: Record<string, string> = {
  zero: '0',
  one: '1',
  two: '2',
  three: '3',
  four: '4',
  five: '5',
  six: '6',
  seven: '7',
  eight: '8',
  nine: '9',
}

/** Digits with the separators phone numbers are written with (spaces, dots, dashes, brackets). */
const digitRun = /(?<![\p{L}\p{N}])\+?\s*\(?\p{Nd}(?:[\s.()\-–]{0,3}\p{Nd})+\)?(?![\p{L}\p{N}])/gu

/** "123456789", "9876543210": counting, not a phone number. */
function isCountingRun(digits: string): boolean {
  const values = [...digits].map(Number)
  const step = (values[1] ?? 0) - (values[0] ?? 0)
  return Math.abs(step) === 1 && values.every((v, i) => i === 0 || v - values[i - 1]! === step)
}

/**
 * A phone number: nine or more digits in one run ("0412 345 678", "(555) 123-4567",
 * "+44 20 7946 0958"), or eight after a "+". Fewer digits are too often something else (a year
 * range, a price, a height); dates are removed first. Digits spelled out ("five five five …")
 * count too.
 */
function hasPhone(text: string): boolean {
  const spelled = text.replace(
    /\b(zero|one|two|three|four|five|six|seven|eight|nine)\b/gi,
    (word) => digitWords[word.toLowerCase()]!,
  )
  for (const copy of [text, spelled]) {
    const withoutDates = copy.replace(datesAndYears, ' ')
    for (const [run] of withoutDates.matchAll(digitRun)) {
      const digits = run.replace(/\P{Nd}/gu, '')
      if (isCountingRun(digits)) continue
      if (digits.length >= 9 || (run.trimStart().startsWith('+') && digits.length >= 8)) return true
    }
  }
  return false
}

/** Payment apps, tip jars and money-transfer requests. */
const payment =
  /\b(?:cash\s*app|venmo|zelle|paypal\s*\.\s*me|western\s+union|money\s*gram|ko-?fi|buy\s*me\s*a\s*coffee|patreon|gift\s*cards?|itunes\s+cards?|steam\s+cards?|(?:crypto|bitcoin|btc|usdt)\s+(?:wallet|address))\b/i

/** PayPal is also an employer: only "send/tip … paypal", "paypal: x", "my paypal". */
const paypalHandle =
  /\b(?:send|tip|gift|pay|donate|my)\b[^.!?\n]{0,20}\bpay\s*pal\b|\bpay\s*pal\s*(?:[:=@]|me\b|account|handle|link|id\b)/i

/** A cashtag: "$janedoe" (never "$5" or "US$"). */
const cashtag = /(?<![\p{L}\p{N}$])\$[a-z][\w-]{1,20}(?![\p{L}\p{N}])/iu

/** Adult-content platforms and selling content. */
const adultContent =
  /\b(?:only\s*fans|onlyfanz|fansly|manyvids|chaturbate|admireme|just\s*for\s*fans|loyalfans|fancentro|my\s*free\s*cams|premium\s+snap(?:chat)?|sell(?:s|ing)?\s+(?:my\s+)?(?:nudes|pics|content|videos)|custom\s+content|nudes\s+for\s+sale)\b/i

const messagingApps = String.raw`snap\s*chat|snap|insta\s*gram|insta|ig|kik|telegram|whats\s*app|wechat|signal|discord|skype|tiktok|twitter|threads|facebook|fb|viber|line\s+id`

const handleLabel = String.raw`(?:id|handle|name|user\s*name|acc(?:ount)?)?`

/** "snap: janedoe", "IG @jane", "kik - jane99", "my snap is jane_doe" (not "Instagram is fun"). */
const messagingHandle = new RegExp(
  String.raw`\b(?:${messagingApps}|sc|tg|wa)\s*${handleLabel}\s*(?:[:=]|-+>?|→|@)\s*@?[\p{L}\p{N}_.]{3,}|` +
    String.raw`\bmy\s+(?:${messagingApps})\s*${handleLabel}\s+is\s+@?[\p{L}\p{N}_.]{3,}`,
  'iu',
)

/** "add me on snap", "hmu on insta", "find me on telegram", "text me on whatsapp". */
const messagingInvitation = new RegExp(
  String.raw`\b(?:add|follow|find|hmu|hit\s+me\s+up|dm|message|msg|text|contact|reach|talk\s+to\s+me|chat\s+with\s+me|look\s+me\s+up)\b[^.!?\n]{0,20}\b(?:on|at|via|@|in)\s+(?:${messagingApps})\b`,
  'iu',
)

/** Short links that open a chat or profile elsewhere: t.me/x, wa.me/123, m.me/x. */
const chatLink = /\b(?:t|wa|m|ig)\s*\.\s*me\s*\/\s*\S/i

/** "@janedoe" outside an email address. */
const socialHandle = /(?<![\p{L}\p{N}_.@])@[a-z0-9_][a-z0-9_.]{2,29}(?![\p{L}\p{N}@])/iu

const leet: Record<string, string> = { 0: 'o', 4: 'a', 3: 'e', 1: 'i', $: 's', 5: 's', '@': 'a', 7: 't' }

/** Leetspeak undone for the keyword checks ("0nlyf4ns", "c4shapp", "v3nmo"). */
function unleet(text: string): string {
  return text.replace(/[0431$5@7]/g, (c) => leet[c]!)
}

function hasSolicitation(plain: string, joined: string): boolean {
  if (cashtag.test(plain) || socialHandle.test(plain) || chatLink.test(plain)) return true
  if (messagingHandle.test(plain) || messagingInvitation.test(plain) || paypalHandle.test(plain)) return true
  return [plain, joined, unleet(plain), unleet(joined)].some(
    (copy) => payment.test(copy) || adultContent.test(copy),
  )
}

// ---------------------------------------------------------------------------------------------

/**
 * Whether text contains a link or web address (bare domains and "example dot com" included), on
 * the same normalised copy profile texts are checked on. Chat uses it for intros from new accounts.
 *
 * @example
 * containsLink('see janedoe.xyz') // true
 */
export function containsLink(value: string): boolean {
  return hasLink(stripMarks(normalise(value)))
}

function refuse(reason: TextRuleReason): TextVerdict {
  return { ok: false, reason, message: textRuleMessages[reason] }
}

/**
 * Check one profile text. Every kind is checked for slurs and obscenities (names and club names
 * strictly, prose less so); "about" is also checked, in this order, for email addresses,
 * payment / adult-content / messaging handles, links and phone numbers. Empty text passes —
 * whether a field may be empty is the schema's business.
 *
 * @example
 * checkProfileText('about', 'Hiking, jazz and 5\'10". Born 1990.') // { ok: true }
 * checkProfileText('about', 'snap: jane_doe99') // { ok: false, reason: 'solicitation', message: '…' }
 * checkProfileText('name', 'f u c k') // { ok: false, reason: 'rude', message: '…' }
 */
export function checkProfileText(kind: ProfileTextKind, value: string): TextVerdict {
  const plain = normalise(value)
  if (plain === '') return { ok: true }
  const unmarked = stripMarks(plain)
  const joined = joinSpacedLetters(unmarked)
  if (isRude(kind, [plain, unmarked, joined])) return refuse('rude')
  if (kind !== 'about') return { ok: true }

  if (emailAddress.test(unmarked) || obfuscatedEmail.test(unmarked)) return refuse('email')
  if (hasSolicitation(unmarked, joined)) return refuse('solicitation')
  if (hasLink(unmarked)) return refuse('link')
  if (hasPhone(plain)) return refuse('phone')
  return { ok: true }
}
