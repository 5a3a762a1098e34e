import { describe, expect, it } from 'vitest'
import {
  fallbackWords,
  isUsableSlug,
  looksLikeId,
  maxSlugLength,
  previewUrlSlug,
  reservedSlugs,
  slugCandidates,
  slugFitsName,
  slugify,
} from '../src/services/profiles/slug-format'

/** A deterministic stand-in for the CSPRNG: cycles through `values`. */
function sequence(...values: number[]): () => number {
  let i = 0
  return () => values[i++ % values.length]!
}

describe('slugify', () => {
  it.each([
    ['Ada Lovelace', 'ada-lovelace'],
    ['  Ada   LOVELACE!!  ', 'ada-lovelace'],
    ["Siobhán O'Brien", 'siobhan-o-brien'],
    ['Zoë', 'zoe'],
    ['Jürgen Müller', 'juergen-mueller'],
    ['Łukasz Żółć', 'lukasz-zolc'],
    ['Ağrı Işık', 'agri-isik'],
    ['Nguyễn Thị Minh', 'nguyen-thi-minh'],
    ['Дмитрий Иванов', 'dmitriy-ivanov'],
    ['Σωκράτης', 'sokratis'],
    ['ＡＮＮＡ', 'anna'],
    ['Jo\u200bhn\u200d', 'john'],
    ['--Ann--', 'ann'],
    ['Ann_Marie.Smith', 'ann-marie-smith'],
    ['R2-D2', 'r2-d2'],
    ['🌸🌸', ''],
    ['山田太郎', ''],
    ['김민준', ''],
    ['   ', ''],
  ])('%s → %s', async (name, slug) => {
    expect(await slugify(name)).toBe(slug)
  })

  it('keeps to 40 characters and never ends with a hyphen', async () => {
    const slug = await slugify('Maria Antonia Josepha Johanna von Habsburg-Lothringen')
    expect(slug.length).toBeLessThanOrEqual(maxSlugLength)
    expect(slug).toBe('maria-antonia-josepha-johanna-von-habsbu')
    expect(await slugify('abcdefghij abcdefghij abcdefghij abcdefg hijk')).toBe(
      'abcdefghij-abcdefghij-abcdefghij-abcdefg',
    )
  })
})

describe('looksLikeId and isUsableSlug', () => {
  it('recognises id shapes', () => {
    for (const id of [
      '12345',
      '0',
      '0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d',
      '0B5B9C3E58A14B0E9F551F1C4E0B6A9D',
      'a'.repeat(32),
      'deadbeef'.repeat(8),
    ]) {
      expect(looksLikeId(id), id).toBe(true)
      expect(isUsableSlug(id), id).toBe(false)
    }
    for (const slug of ['ada', 'cafe', 'deadbeef', 'face-1234', 'a'.repeat(31), '12345-6']) {
      expect(looksLikeId(slug), slug).toBe(false)
    }
  })

  it('refuses reserved words and malformed slugs', () => {
    for (const slug of ['admin', 'api', 'me', 'search', 'settings', 'places', 'profiles', 'onboarding']) {
      expect(reservedSlugs.has(slug), slug).toBe(true)
      expect(isUsableSlug(slug), slug).toBe(false)
    }
    for (const slug of ['', 'Ada', '-ada', 'ada-', 'ada--lovelace', 'ada lovelace', 'zoë', 'a'.repeat(41)]) {
      expect(isUsableSlug(slug), slug).toBe(false)
    }
    expect(isUsableSlug('ada-lovelace-7')).toBe(true)
    expect(isUsableSlug('a'.repeat(40))).toBe(true)
  })

  it('has no fallback word that is reserved', () => {
    for (const word of fallbackWords) expect(isUsableSlug(word), word).toBe(true)
  })
})

describe('slugCandidates', () => {
  it('tries the plain slug, then suffixes growing one digit per attempt', async () => {
    const candidates = await slugCandidates('Ada Lovelace', 10, sequence(0.5))
    expect(candidates).toHaveLength(10)
    expect(candidates[0]).toBe('ada-lovelace')
    candidates.slice(1).forEach((candidate, i) => {
      expect(candidate).toMatch(new RegExp(`^ada-lovelace-[1-9]\\d{${i}}$`))
    })
    expect(new Set(candidates).size).toBe(10)
  })

  it('uses the CSPRNG by default, so two calls differ', async () => {
    const a = await slugCandidates('Ada', 10)
    const b = await slugCandidates('Ada', 10)
    expect(a[0]).toBe(b[0])
    expect(a.slice(5)).not.toEqual(b.slice(5))
  })

  it('starts reserved and id-shaped names at the suffixed forms', async () => {
    const [admin] = await slugCandidates('Admin', 1, sequence(0.3))
    expect(admin).toMatch(/^admin-[1-9]$/)
    const [digits] = await slugCandidates('12345', 1, sequence(0.3))
    expect(digits).toMatch(/^12345-[1-9]$/)
    const [uuid] = await slugCandidates('0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d', 1, sequence(0.3))
    expect(uuid).toMatch(/^0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d-[1-9]$/)
    expect(isUsableSlug(uuid!)).toBe(true)
  })

  it('falls back to a random word when the name has no usable slug', async () => {
    const candidates = await slugCandidates('🌸', 3, sequence(0, 0.5))
    expect(candidates[0]).toMatch(new RegExp(`^(${fallbackWords.join('|')})-[1-9]$`))
    for (const candidate of candidates)
      expect(candidate.startsWith(`${candidates[0]!.split('-')[0]}-`)).toBe(true)
  })

  it('always yields usable slugs of at most 40 characters', async () => {
    const names = [
      'x'.repeat(64),
      'Maria Antonia Josepha Johanna von Habsburg-Lothringen',
      'admin',
      '٣٤٥',
      '🙂',
      'Ωmega',
      'a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w',
    ]
    for (const name of names) {
      for (const candidate of await slugCandidates(name, 10)) {
        expect(candidate.length, candidate).toBeLessThanOrEqual(maxSlugLength)
        expect(isUsableSlug(candidate), candidate).toBe(true)
      }
    }
  })
})

describe('previewUrlSlug and slugFitsName', () => {
  it('previews the plain slug, or says it is random', async () => {
    expect(await previewUrlSlug('Ada Lovelace')).toEqual({ urlSlug: 'ada-lovelace', isRandom: false })
    const random = await previewUrlSlug('山田')
    expect(random.isRandom).toBe(true)
    expect(isUsableSlug(random.urlSlug)).toBe(true)
  })

  it('accepts the slugs a name could have produced, and only those', async () => {
    expect(await slugFitsName('ada-lovelace', 'ADA lovelace')).toBe(true)
    expect(await slugFitsName('ada-lovelace-4821', 'Ada Lovelace')).toBe(true)
    expect(await slugFitsName('ada-lovelace', 'Ada Byron')).toBe(false)
    expect(await slugFitsName('ada-4821', 'Ada Lovelace')).toBe(false)
    expect(await slugFitsName('ada-lovelace-0', 'Ada Lovelace')).toBe(false)
    expect(await slugFitsName('admin', 'Admin')).toBe(false)
    expect(await slugFitsName('admin-7', 'Admin')).toBe(true)
    expect(await slugFitsName('willow-42', '🌸')).toBe(true)
    expect(await slugFitsName('cactus-42', '🌸')).toBe(false)
    const long = 'Maria Antonia Josepha Johanna von Habsburg-Lothringen'
    for (const candidate of await slugCandidates(long, 10)) {
      expect(await slugFitsName(candidate, long), candidate).toBe(true)
    }
  })
})
