import { describe, expect, it } from 'vitest'
import {
  type ProfileTextKind,
  type TextRuleReason,
  checkProfileText,
  textRuleMessages,
} from '../src/services/moderation/text-rules'

/** The reason a text is refused for, or 'ok'. */
function verdict(kind: ProfileTextKind, value: string): TextRuleReason | 'ok' {
  const result = checkProfileText(kind, value)
  return result.ok ? 'ok' : result.reason
}

describe('slurs and obscenities', () => {
  const refusedEverywhere = [
    'fuck',
    'Fuuuuck off',
    'fvck',
    'sh1t happens',
    'a$$hole',
    'b1tch',
    'wh0re',
    'n1gger',
    'ni99er',
    'nigga',
    'f4gg0t',
    'retard',
    'kike',
    'wetback',
    'raghead',
    'spic',
    'coon',
    'gook',
    'paki',
  ]
  const disguised = [
    ['zero-width spaces', 'fu\u200bck'],
    ['a soft hyphen', 'fu\u00adck'],
    ['a word joiner and bidi controls', '\u202ef\u2060uck\u202c'],
    ['full-width letters', 'ｆｕｃｋ'],
    ['Cyrillic look-alikes', 'nіgger'],
    ['combining strokes', 'n̶i̶g̶g̶e̶r̶'],
    ['spaced-out letters', 'f u c k'],
    ['dotted letters', 'n.i.g.g.e.r'],
    ['dashed letters', 'c-u-n-t'],
  ] as const

  it.each(['name', 'about', 'occupation', 'education', 'club'] as const)('refuses them in %s', (kind) => {
    for (const text of refusedEverywhere) expect(verdict(kind, text), text).toBe('rude')
    for (const [how, text] of disguised) expect(verdict(kind, text), how).toBe('rude')
  })

  it('refuses them inside a sentence', () => {
    expect(verdict('about', 'I really do not give a shit about football')).toBe('rude')
    expect(verdict('occupation', 'Professional asshole')).toBe('rude')
  })

  it('refuses some words in names that are ordinary words in prose', () => {
    for (const word of ['Sex', 'Rape', 'Hooker']) {
      expect(verdict('name', word), word).toBe('rude')
      expect(verdict('club', word), word).toBe('rude')
    }
    expect(verdict('about', 'Sex and the City on repeat; sex-positive, same-sex couples welcome')).toBe('ok')
    expect(verdict('occupation', 'Rape crisis counsellor')).toBe('ok')
    expect(verdict('about', 'I play hooker for my rugby club and love scat singing')).toBe('ok')
    expect(verdict('occupation', 'Sex educator')).toBe('ok')
  })

  it('lets innocent words and names through', () => {
    const innocent: [ProfileTextKind, string][] = [
      ['name', 'Richard'],
      ['name', 'Dickson'],
      ['name', 'Hancock'],
      ['name', 'Cockburn'],
      ['name', 'Shitake'],
      ['name', 'Assunta'],
      ['name', 'Niger'],
      ['name', 'Van Dyke'],
      ['name', 'Jürgen Müller'],
      ['name', 'Zoë 🌸'],
      ['name', 'Анастасия'],
      ['name', '山田太郎'],
      ['education', 'BA, magna cum laude'],
      ['education', 'Summa cum laude, University of Sussex'],
      ['education', 'BSc Analysis & Statistics, Scunthorpe College'],
      ['occupation', 'Cocktail bartender'],
      ['occupation', 'Assassin (in video games only)'],
      ['occupation', 'Therapist'],
      ['occupation', 'Classic car restorer in Essex'],
      ['about', 'Cumin, shiitake and rapeseed oil are my secret ingredients'],
      ['about', 'I live in Penistone with my pussycat and my Maine Coon'],
      ['about', 'Passionate about bass guitar, Assam tea and Arsenal'],
      ['about', 'A tycoon in a cocoon, watching raccoons in Japan'],
      ['about', 'Spic and span flat; Dickens and Emily Dickinson on the shelf'],
      ['about', 'Peacocks, cockatoos and shuttlecocks'],
      ['club', 'Hitchcock films'],
    ]
    for (const [kind, text] of innocent) expect(verdict(kind, text), text).toBe('ok')
  })
})

describe('contact details and solicitation in "about"', () => {
  const refused: [TextRuleReason, string][] = [
    ['email', 'write to jane.doe+dating@example.com'],
    ['email', 'JANE@EXAMPLE.CO.UK'],
    ['email', 'jane at gmail dot com'],
    ['email', 'jane (at) example (dot) com'],
    ['email', 'jane[at]protonmail'],
    ['email', 'jane @ hotmail'],
    ['link', 'see https://example.com/me'],
    ['link', 'http://192.168.0.1'],
    ['link', 'www.example.org'],
    ['link', 'www dot example dot org'],
    ['link', 'my site: janedoe.com'],
    ['link', 'Visit Example.COM for more'],
    ['link', 'example.co.uk/about'],
    ['link', 'janedoe.xyz'],
    ['link', 'example dot com'],
    ['link', 'example (dot) net'],
    ['link', 'example[.]com'],
    ['link', 'about.me/jane'],
    ['link', 'bit.ly/3abc'],
    ['phone', 'call me on 0412 345 678'],
    ['phone', '(555) 123-4567'],
    ['phone', '555.123.4567'],
    ['phone', '+44 20 7946 0958'],
    ['phone', '+1-202-555-0143'],
    ['phone', '+33 6 12 34 56 78'],
    ['phone', '07911123456'],
    ['phone', 'text 0 4 1 2 3 4 5 6 7 8'],
    ['phone', 'five five five one two three four five six seven'],
    ['phone', '０４１２ ３４５ ６７８'],
    ['solicitation', 'cashapp me'],
    ['solicitation', 'Cash App: $janedoe'],
    ['solicitation', 'tips welcome $jane_doe'],
    ['solicitation', 'venmo @jane'],
    ['solicitation', 'v3nmo'],
    ['solicitation', 'Zelle accepted'],
    ['solicitation', 'paypal.me/jane'],
    ['solicitation', 'send me something on paypal'],
    ['solicitation', 'my onlyfans is up'],
    ['solicitation', 'check my 0nlyf4ns'],
    ['solicitation', 'o n l y f a n s'],
    ['solicitation', 'Fansly link in bio'],
    ['solicitation', 'selling content, custom content available'],
    ['solicitation', 'snap: jane_doe99'],
    ['solicitation', 'SC - janedoe'],
    ['solicitation', 'IG @jane.doe'],
    ['solicitation', 'my snap is janed'],
    ['solicitation', 'kik: janie'],
    ['solicitation', 'telegram @janedoe'],
    ['solicitation', 'add me on snapchat'],
    ['solicitation', 'hmu on insta'],
    ['solicitation', 'text me on whatsapp'],
    ['solicitation', 'find me on telegram'],
    ['solicitation', 't.me/janedoe'],
    ['solicitation', 'wa.me/447911123456'],
    ['solicitation', '@janedoe99'],
    ['solicitation', 'buy me a coffee'],
  ]

  it.each(refused)('refuses as %s: %s', (reason, text) => {
    const result = checkProfileText('about', text)
    expect(result).toEqual({ ok: false, reason, message: textRuleMessages[reason] })
  })

  it('lets ordinary bios through', () => {
    const fine = [
      "I'm 5'10\" (178 cm), born in 1990, and I've lived in Lyon since 2019.",
      'Studied 2008–2012 and 2014-16, worked 2016 - 2023.',
      'Married 12.05.2010, divorced 03/04/2018; 2 kids (7 and 9).',
      'I love Python, Node.js, Vue.js and ASP.NET; I write e.g. TypeScript and Go.',
      'B.Sc in Physics, M.Sc in Maths, Ph.D pending.',
      'Hiking at 6:30am, 10k runs, 42.195 km marathons, 3 cats.',
      'Earning $100k, saving $5 a day, US$ is my currency.',
      'Looking for someone to share the dot com bubble stories with.',
      'My favourite line: "Here\'s looking at you, kid."',
      'I deleted Instagram and Snapchat last year and I am happier.',
      'I love my life.It is busy but good',
      'I work at PayPal in the payments team.',
      'Meet @ the café at 5pm?',
      'Height 180cm, weight 75kg, shoe size 44.',
      'My number of countries visited: 27. Favourite: New Zealand.',
      'I can count to ten: one two three four five six seven eight nine ten!',
      'Lottery numbers? 1 2 3 4 5 6 7 8 9, obviously.',
      'Instagram is where I post my art; TikTok is my guilty pleasure.',
      'Snap peas, line dancing and Call of Duty.',
      'DM me if you like dogs.',
      'Scores: 1 000 000 points in Tetris',
      '',
      '   ',
    ]
    for (const text of fine) expect(verdict('about', text), text).toBe('ok')
  })

  it('does not look for contact details outside "about"', () => {
    expect(verdict('occupation', 'Engineer at Booking.com')).toBe('ok')
    expect(verdict('education', 'University of Phoenix (online), call 555-123-4567')).toBe('ok')
    expect(verdict('name', 'Jane')).toBe('ok')
  })

  it('copes with a full-length bio quickly', () => {
    const long = 'I like long walks, good coffee and better books. '.repeat(200).slice(0, 10_000)
    const started = performance.now()
    expect(verdict('about', long)).toBe('ok')
    expect(verdict('about', `${long.slice(0, 9_000)} snap: jane_doe`)).toBe('solicitation')
    expect(performance.now() - started).toBeLessThan(500)
  })
})
