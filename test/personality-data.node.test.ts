import { describe, expect, it } from 'vitest'
import {
  fixedFirstQuestionCount,
  personalityDataVersion,
  presenceAbsence,
  questions,
  questionTopics,
  traitKeys,
  traitTopics,
  traits,
  type Question,
} from '../scripts/personality-data'

type Answers = ReadonlyArray<{ question: Question; answer: boolean }>

/** Per-trait presence/absence sums over a set of answers (docs/personality.md). */
function traitSums(answers: Answers): { presence: number[]; absence: number[] } {
  const presence = traitKeys.map(() => 0)
  const absence = traitKeys.map(() => 0)
  for (const { question, answer } of answers) {
    const pa = presenceAbsence(question)
    const p = answer ? pa.presenceGivenYes : pa.presenceGivenNo
    const a = answer ? pa.absenceGivenYes : pa.absenceGivenNo
    for (let i = 0; i < traitKeys.length; i++) {
      // Subtract the element-wise minimum of each answer's pair.
      const m = Math.min(p[i]!, a[i]!)
      presence[i]! += p[i]! - m
      absence[i]! += a[i]! - m
    }
  }
  return { presence, absence }
}

function traitRatios(answers: Answers): number[] {
  const { presence, absence } = traitSums(answers)
  return presence.map((p, i) => (p + absence[i]! === 0 ? 0.5 : p / (p + absence[i]!)))
}

/** The personality vector: 2·ratio − 1, a 1e-5 constant dimension, L2-normalised, weighted by n. */
function personalityVector(answers: Answers): number[] {
  const v = [...traitRatios(answers).map((r) => 2 * r - 1), 1e-5]
  const norm = Math.hypot(...v)
  const n = answers.length
  const weight = Math.min(1, Math.max(0, Math.log(Math.log(n + 1) + 1) / Math.log(Math.log(251) + 1)))
  return v.map((x) => (x / norm) * weight)
}

function matchPercent(a: number[], b: number[]): number {
  const dot = a.reduce((sum, x, i) => sum + x * b[i]!, 0)
  return Math.max(0, Math.min(99, Math.round((100 * (1 + dot)) / 2)))
}

const everyone = (answer: (q: Question) => boolean): Answers =>
  questions.map((question) => ({ question, answer: answer(question) }))

describe('personality data: traits', () => {
  it('has at least 20 traits with unique kebab-case keys, in traitKeys order', () => {
    expect(traits.length).toBeGreaterThanOrEqual(20)
    expect(traits.map((t) => t.key)).toEqual([...traitKeys])
    expect(new Set(traitKeys).size).toBe(traitKeys.length)
    for (const key of traitKeys) expect(key).toMatch(/^[a-z]+(-[a-z]+)*$/)
  })

  it('gives every trait a name, two distinct pole labels, a short description and a valid topic', () => {
    expect(new Set(traits.map((t) => t.name)).size).toBe(traits.length)
    for (const t of traits) {
      expect(t.name.trim()).not.toBe('')
      expect(t.minLabel.trim()).not.toBe('')
      expect(t.maxLabel.trim()).not.toBe('')
      expect(t.minLabel).not.toBe(t.maxLabel)
      expect(traitTopics).toContain(t.topic)
      expect(t.description.length).toBeGreaterThan(20)
      expect(t.description.length).toBeLessThanOrEqual(300)
      // One or two sentences.
      expect(t.description.match(/[.!?](\s|$)/g)?.length ?? 0).toBeGreaterThanOrEqual(1)
      expect(t.description.match(/[.!?](\s|$)/g)!.length).toBeLessThanOrEqual(2)
    }
    for (const topic of traitTopics) expect(traits.some((t) => t.topic === topic)).toBe(true)
  })
})

describe('personality data: questions', () => {
  it('has at least 250 questions with unique, contiguous ids starting at 1', () => {
    expect(questions.length).toBeGreaterThanOrEqual(250)
    expect(questions.map((q) => q.id)).toEqual(questions.map((_, i) => i + 1))
  })

  it('has the fixed first questions, each informing at least two traits and none about sex', () => {
    expect(fixedFirstQuestionCount).toBe(10)
    const fixed = questions.filter((q) => q.id <= fixedFirstQuestionCount)
    expect(fixed).toHaveLength(10)
    for (const q of fixed) expect(q.topic).not.toBe('sex')
    for (const q of fixed) expect(q.retired).toBeUndefined()
    expect(fixed.filter((q) => Object.keys(q.effects).length >= 2).length).toBeGreaterThanOrEqual(7)
    const covered = new Set(fixed.flatMap((q) => Object.keys(q.effects)))
    expect(covered.size).toBeGreaterThanOrEqual(15)
  })

  it('has unique, well-formed question texts', () => {
    const normalised = questions.map((q) => q.text.trim().toLowerCase().replace(/\s+/g, ' '))
    expect(new Set(normalised).size).toBe(questions.length)
    for (const q of questions) {
      expect(q.text).toBe(q.text.trim())
      expect(q.text.length).toBeGreaterThanOrEqual(10)
      expect(q.text.length).toBeLessThanOrEqual(200)
      expect(q.text).toMatch(/^[A-Z"]/)
      expect(q.text.endsWith('?')).toBe(true)
      expect(q.text).not.toMatch(/\s{2}/)
    }
  })

  it('uses only the compare-answers topics, with few questions about sex and none early on', () => {
    for (const q of questions) expect(questionTopics).toContain(q.topic)
    const sex = questions.filter((q) => q.topic === 'sex')
    expect(sex.length).toBeLessThanOrEqual(questions.length * 0.05)
    // The anonymous quiz walks ids in order.
    for (const q of sex) expect(q.id).toBeGreaterThan(100)
    for (const topic of questionTopics) expect(questions.some((q) => q.topic === topic)).toBe(true)
  })

  it('gives every question 1–3 effects naming known traits with non-zero weights in [-1, 1]', () => {
    const known = new Set<string>(traitKeys)
    for (const q of questions) {
      const entries = Object.entries(q.effects)
      expect(entries.length, `question ${q.id}`).toBeGreaterThanOrEqual(1)
      expect(entries.length, `question ${q.id}`).toBeLessThanOrEqual(3)
      for (const [key, w] of entries) {
        expect(known.has(key), `question ${q.id}: ${key}`).toBe(true)
        expect(Number.isFinite(w), `question ${q.id}: ${key}`).toBe(true)
        expect(w, `question ${q.id}: ${key}`).not.toBe(0)
        expect(Math.abs(w!), `question ${q.id}: ${key}`).toBeLessThanOrEqual(1)
      }
    }
  })

  it('informs every trait with at least 10 questions keyed in both directions', () => {
    for (const key of traitKeys) {
      const weights = questions.map((q) => q.effects[key]).filter((w) => w !== undefined)
      expect(weights.length, key).toBeGreaterThanOrEqual(10)
      expect(weights.filter((w) => w > 0).length, key).toBeGreaterThanOrEqual(3)
      expect(weights.filter((w) => w < 0).length, key).toBeGreaterThanOrEqual(3)
    }
  })

  it('has a version string', () => {
    expect(personalityDataVersion).toMatch(/^\d{4}-\d{2}-\d{2}\.\d+$/)
  })
})

describe('personality data: scoring', () => {
  it('maps effects to presence/absence vectors that mirror between yes and no', () => {
    for (const q of questions) {
      const pa = presenceAbsence(q)
      expect(pa.presenceGivenNo).toEqual(pa.absenceGivenYes)
      expect(pa.absenceGivenNo).toEqual(pa.presenceGivenYes)
      traitKeys.forEach((key, i) => {
        const w = q.effects[key] ?? 0
        expect(pa.presenceGivenYes[i]).toBe(Math.max(w, 0))
        expect(pa.absenceGivenYes[i]).toBe(Math.max(-w, 0))
      })
    }
  })

  it('does not push a respondent who says yes (or no) to everything to the extremes', () => {
    for (const answer of [true, false]) {
      const ratios = traitRatios(everyone(() => answer))
      const extreme = ratios.filter((r) => r < 0.25 || r > 0.75)
      expect(
        extreme.length,
        `answer ${answer}: ${ratios.map((r) => r.toFixed(2)).join(' ')}`,
      ).toBeLessThanOrEqual(3)
      for (const r of ratios) expect(r).toBeGreaterThan(0.1)
      for (const r of ratios) expect(r).toBeLessThan(0.9)
    }
  })

  it('lets a consistent respondent reach either pole of every trait', () => {
    for (const key of traitKeys) {
      const relevant = questions.filter((q) => q.effects[key] !== undefined)
      const high = relevant.map((question) => ({ question, answer: question.effects[key]! > 0 }))
      const low = relevant.map((question) => ({ question, answer: question.effects[key]! < 0 }))
      const i = traitKeys.indexOf(key)
      expect(traitRatios(high)[i], key).toBe(1)
      expect(traitRatios(low)[i], key).toBe(0)
    }
  })

  it('scores identical respondents as a top match and opposite respondents as a poor one', () => {
    const a = everyone((q) => q.id % 3 !== 0)
    const opposite = a.map(({ question, answer }) => ({ question, answer: !answer }))
    const va = personalityVector(a)
    expect(Math.hypot(...va)).toBeCloseTo(1, 9)
    expect(matchPercent(va, personalityVector(a))).toBe(99)
    expect(matchPercent(va, personalityVector(opposite))).toBeLessThanOrEqual(1)
    // A vector from few answers is shorter, so matches stay closer to 50 %.
    const few = a.slice(0, 10)
    expect(Math.hypot(...personalityVector(few))).toBeLessThan(1)
    expect(matchPercent(personalityVector(few), personalityVector(few))).toBeLessThan(99)
  })
})
