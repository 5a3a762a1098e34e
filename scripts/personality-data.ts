/**
 * Rapport's personality question bank: the traits, the yes/no questions and how each answer moves
 * each trait. Written for this project (see docs/personality.md for the method, the maths and the
 * rules for editing).
 *
 * This module is pure data plus one pure helper. It is read by the seed step that loads the bank into
 * Postgres and by tests; it is not bundled into the Worker. Keep it free of runtime imports.
 *
 * Stability rules (stored answers and vectors depend on them):
 * - A question's `id` is permanent. Never renumber, never reuse an id, append new questions at the end.
 * - The order of `traits` is the order of the presence/absence arrays and of the personality vector's
 *   dimensions. Never reorder or remove a trait; append new ones at the end.
 * - Bump `personalityDataVersion` on any change so the seed step reloads the bank and recomputes vectors.
 */

export const personalityDataVersion = '2026-11-21.1'

export type TraitTopic = 'big-five' | 'attachment' | 'values' | 'lifestyle' | 'interpersonal'

/** The topics of the answer comparison (`compare-answers?topic=`). */
export type QuestionTopic = 'values' | 'sex' | 'interpersonal' | 'other'

export const traitTopics: readonly TraitTopic[] = [
  'big-five',
  'attachment',
  'values',
  'lifestyle',
  'interpersonal',
]
export const questionTopics: readonly QuestionTopic[] = ['values', 'sex', 'interpersonal', 'other']

/** Trait keys in vector order. Append only. */
export const traitKeys = [
  'openness',
  'conscientiousness',
  'extraversion',
  'agreeableness',
  'emotional-stability',
  'assertiveness',
  'attachment-anxiety',
  'attachment-avoidance',
  'social-outlook',
  'economic-outlook',
  'religiosity',
  'environmentalism',
  'physical-activity',
  'social-life',
  'frugality',
  'adventurousness',
  'family-orientation',
  'career-focus',
  'chronotype',
  'directness',
  'playfulness',
  'romanticism',
  'affection',
  'emotional-expressiveness',
] as const

export type TraitKey = (typeof traitKeys)[number]

export interface Trait {
  /** Stable kebab-case identifier. */
  key: TraitKey
  name: string
  /** Label of the low end (ratio 0 %). */
  minLabel: string
  /** Label of the high end (ratio 100 %). */
  maxLabel: string
  description: string
  topic: TraitTopic
}

/**
 * Signed weights in [-1, 1]: how strongly a "yes" points toward each trait's max pole (negative: toward
 * the min pole). A "no" is read as the opposite direction with the same strength.
 */
export type QuestionEffects = Readonly<Partial<Record<TraitKey, number>>>

export interface Question {
  /** Stable, 1..n, never reused. Ids 1–10 are the fixed first questions everyone sees first. */
  id: number
  text: string
  topic: QuestionTopic
  effects: QuestionEffects
  /**
   * Set instead of deleting a question whose meaning must change: the seed step keeps it (stored
   * answers still count) but it is no longer offered. Write the new wording as a new question.
   */
  retired?: true
}

/** Number of fixed first questions (ids 1..fixedFirstQuestionCount, shown in id order). */
export const fixedFirstQuestionCount = 10

export const traits: readonly Trait[] = [
  {
    key: 'openness',
    name: 'Openness',
    minLabel: 'Practical',
    maxLabel: 'Imaginative',
    description:
      'How strongly you are drawn to new ideas, art and unfamiliar experiences, compared with the familiar and the practical.',
    topic: 'big-five',
  },
  {
    key: 'conscientiousness',
    name: 'Conscientiousness',
    minLabel: 'Spontaneous',
    maxLabel: 'Organised',
    description:
      'How much you like to plan, keep order and follow through on tasks, compared with going with the flow and deciding in the moment.',
    topic: 'big-five',
  },
  {
    key: 'extraversion',
    name: 'Extraversion',
    minLabel: 'Introverted',
    maxLabel: 'Extraverted',
    description:
      'Whether you tend to get your energy from being around other people or from time on your own or with a few people you know well.',
    topic: 'big-five',
  },
  {
    key: 'agreeableness',
    name: 'Agreeableness',
    minLabel: 'Tough-minded',
    maxLabel: 'Accommodating',
    description:
      'How readily you trust, forgive and put other people’s needs first, compared with being sceptical, competitive and quick to stand your ground.',
    topic: 'big-five',
  },
  {
    key: 'emotional-stability',
    name: 'Emotional stability',
    minLabel: 'Sensitive',
    maxLabel: 'Even-keeled',
    description:
      'How strongly stress, worry and setbacks affect you. Sensitive people feel the ups and downs keenly; even-keeled people tend to stay level.',
    topic: 'big-five',
  },
  {
    key: 'assertiveness',
    name: 'Assertiveness',
    minLabel: 'Happy to follow',
    maxLabel: 'Takes the lead',
    description:
      'Whether you naturally take charge and ask for what you want, or prefer to support others and let them decide.',
    topic: 'big-five',
  },
  {
    key: 'attachment-anxiety',
    name: 'Attachment anxiety',
    minLabel: 'Feels secure',
    maxLabel: 'Seeks reassurance',
    description:
      'How much you worry about a partner’s feelings for you and need signs that the relationship is safe. Higher scores are common and simply mean reassurance matters to you.',
    topic: 'attachment',
  },
  {
    key: 'attachment-avoidance',
    name: 'Attachment avoidance',
    minLabel: 'Seeks closeness',
    maxLabel: 'Guards independence',
    description:
      'How comfortable you are depending on a partner and being depended on, compared with keeping emotional distance and self-reliance.',
    topic: 'attachment',
  },
  {
    key: 'social-outlook',
    name: 'Social outlook',
    minLabel: 'Traditional',
    maxLabel: 'Progressive',
    description:
      'Your views on social questions such as family roles, law and order, and how quickly society should change.',
    topic: 'values',
  },
  {
    key: 'economic-outlook',
    name: 'Economic outlook',
    minLabel: 'Economic left',
    maxLabel: 'Economic right',
    description:
      'Your views on taxes, public services, markets and how wealth should be shared, from favouring collective provision to favouring free markets.',
    topic: 'values',
  },
  {
    key: 'religiosity',
    name: 'Religion and spirituality',
    minLabel: 'Secular',
    maxLabel: 'Religious or spiritual',
    description: 'How much faith, spiritual belief and religious practice shape your life and your outlook.',
    topic: 'values',
  },
  {
    key: 'environmentalism',
    name: 'Environmental concern',
    minLabel: 'Pragmatic',
    maxLabel: 'Green',
    description:
      'How high a priority the environment and climate are for you, in your opinions and in everyday choices.',
    topic: 'values',
  },
  {
    key: 'physical-activity',
    name: 'Activity level',
    minLabel: 'Laid-back',
    maxLabel: 'Active',
    description: 'How much exercise, sport and moving about are part of your everyday life.',
    topic: 'lifestyle',
  },
  {
    key: 'social-life',
    name: 'Social life',
    minLabel: 'Homebody',
    maxLabel: 'Out and about',
    description:
      'Whether your free time is usually spent at home or out at events, gatherings and busy places.',
    topic: 'lifestyle',
  },
  {
    key: 'frugality',
    name: 'Money style',
    minLabel: 'Spends freely',
    maxLabel: 'Saves carefully',
    description:
      'How you handle money day to day: enjoying it now, or budgeting and putting it aside for later.',
    topic: 'lifestyle',
  },
  {
    key: 'adventurousness',
    name: 'Adventurousness',
    minLabel: 'Cautious',
    maxLabel: 'Adventurous',
    description:
      'Your appetite for risk, travel and the unknown, compared with a preference for safety, comfort and the familiar.',
    topic: 'lifestyle',
  },
  {
    key: 'family-orientation',
    name: 'Family orientation',
    minLabel: 'Freedom-focused',
    maxLabel: 'Family-centred',
    description:
      'How central family, whether the one you grew up in or one you hope to build, is to the life you want.',
    topic: 'lifestyle',
  },
  {
    key: 'career-focus',
    name: 'Career focus',
    minLabel: 'Works to live',
    maxLabel: 'Lives to work',
    description: 'How much of your time, energy and identity you want to put into work and ambition.',
    topic: 'lifestyle',
  },
  {
    key: 'chronotype',
    name: 'Daily rhythm',
    minLabel: 'Early bird',
    maxLabel: 'Night owl',
    description: 'Whether you come alive in the morning or late at night.',
    topic: 'lifestyle',
  },
  {
    key: 'directness',
    name: 'Directness',
    minLabel: 'Diplomatic',
    maxLabel: 'Direct',
    description:
      'Whether you say things plainly, even when they are hard to hear, or choose your words to keep the peace.',
    topic: 'interpersonal',
  },
  {
    key: 'playfulness',
    name: 'Humour',
    minLabel: 'Earnest',
    maxLabel: 'Playful',
    description:
      'How much joking, teasing and silliness you bring to your relationships and enjoy from others.',
    topic: 'interpersonal',
  },
  {
    key: 'romanticism',
    name: 'Romance',
    minLabel: 'Down-to-earth',
    maxLabel: 'Romantic',
    description:
      'Whether you see love through the lens of chemistry, destiny and grand gestures, or of compatibility, effort and practicality.',
    topic: 'interpersonal',
  },
  {
    key: 'affection',
    name: 'Physical affection',
    minLabel: 'Low-key',
    maxLabel: 'Affectionate',
    description:
      'How much touch, hugging and closeness you like to give and receive, with partners and with friends.',
    topic: 'interpersonal',
  },
  {
    key: 'emotional-expressiveness',
    name: 'Emotional openness',
    minLabel: 'Private',
    maxLabel: 'Expressive',
    description: 'How readily you show and talk about your feelings, compared with keeping them to yourself.',
    topic: 'interpersonal',
  },
]

/* The question bank. Append new questions at the end with the next id. */
export const questions: readonly Question[] = [
  {
    id: 1,
    topic: 'other',
    text: 'Would you rather spend a free Saturday night out with friends than have a quiet one at home?',
    effects: { extraversion: 0.6, 'social-life': 0.8, chronotype: 0.2 },
  },
  {
    id: 2,
    topic: 'values',
    text: 'Is raising children part of the life you want?',
    effects: { 'family-orientation': 1 },
  },
  {
    id: 3,
    topic: 'values',
    text: 'Should the government do more to reduce inequality, even if it means higher taxes?',
    effects: { 'economic-outlook': -0.9, 'social-outlook': 0.3 },
  },
  {
    id: 4,
    topic: 'values',
    text: 'Is religion or spirituality an important part of your life?',
    effects: { religiosity: 1 },
  },
  {
    id: 5,
    topic: 'interpersonal',
    text: 'If something a partner does bothers you, do you usually bring it up straight away?',
    effects: { directness: 0.8, 'emotional-expressiveness': 0.4, 'attachment-avoidance': -0.3 },
  },
  {
    id: 6,
    topic: 'interpersonal',
    text: 'Do you sometimes worry that a partner cares less about you than you care about them?',
    effects: { 'attachment-anxiety': 0.9, 'emotional-stability': -0.4 },
  },
  {
    id: 7,
    topic: 'other',
    text: 'Would you move to another country on a whim, just for the adventure?',
    effects: { adventurousness: 0.9, openness: 0.4, conscientiousness: -0.3 },
  },
  {
    id: 8,
    topic: 'other',
    text: 'Are you at your best early in the morning?',
    effects: { chronotype: -1, 'physical-activity': 0.2 },
  },
  {
    id: 9,
    topic: 'interpersonal',
    text: 'Do you show affection with lots of hugs and physical contact?',
    effects: { affection: 1, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 10,
    topic: 'other',
    text: 'Do you like to have a plan for the weekend before it starts?',
    effects: { conscientiousness: 0.7, adventurousness: -0.3 },
  },
  {
    id: 11,
    topic: 'other',
    text: 'Do you enjoy visiting art galleries or museums?',
    effects: { openness: 0.7 },
  },
  {
    id: 12,
    topic: 'other',
    text: 'Do you usually make your bed in the morning?',
    effects: { conscientiousness: 0.6 },
  },
  {
    id: 13,
    topic: 'other',
    text: 'Do you find it easy to start conversations with strangers?',
    effects: { extraversion: 0.8 },
  },
  {
    id: 14,
    topic: 'other',
    text: 'Do you stay calm when things go wrong unexpectedly?',
    effects: { 'emotional-stability': 0.9 },
  },
  {
    id: 15,
    topic: 'interpersonal',
    text: 'Do you find it easy to forgive people who have hurt you?',
    effects: { agreeableness: 0.8 },
  },
  {
    id: 16,
    topic: 'other',
    text: 'Do you naturally take charge when a group cannot decide what to do?',
    effects: { assertiveness: 0.9, extraversion: 0.3 },
  },
  {
    id: 17,
    topic: 'interpersonal',
    text: 'If a partner takes hours to reply to a message, do you start to wonder what is wrong?',
    effects: { 'attachment-anxiety': 0.9 },
  },
  {
    id: 18,
    topic: 'interpersonal',
    text: 'Do you feel uncomfortable when a partner wants to be very close?',
    effects: { 'attachment-avoidance': 0.9 },
  },
  {
    id: 19,
    topic: 'values',
    text: 'Should same-sex couples have the same rights to marry and adopt as other couples?',
    effects: { 'social-outlook': 0.9 },
  },
  {
    id: 20,
    topic: 'values',
    text: 'Do lower taxes generally do more good than higher public spending?',
    effects: { 'economic-outlook': 0.8 },
  },
  {
    id: 21,
    topic: 'values',
    text: 'Do you pray, or take part in another spiritual practice, regularly?',
    effects: { religiosity: 0.9 },
  },
  {
    id: 22,
    topic: 'values',
    text: 'Have you changed how you live to reduce your impact on the climate?',
    effects: { environmentalism: 0.9 },
  },
  {
    id: 23,
    topic: 'other',
    text: 'Do you exercise three or more times a week?',
    effects: { 'physical-activity': 1 },
  },
  { id: 24, topic: 'other', text: 'Do you go out most weekends?', effects: { 'social-life': 0.9 } },
  {
    id: 25,
    topic: 'other',
    text: 'Do you save part of your income every month?',
    effects: { frugality: 0.8, conscientiousness: 0.3 },
  },
  { id: 26, topic: 'other', text: 'Have you ever travelled alone?', effects: { adventurousness: 0.6 } },
  {
    id: 27,
    topic: 'other',
    text: 'Is living close to your family important to you?',
    effects: { 'family-orientation': 0.7 },
  },
  {
    id: 28,
    topic: 'other',
    text: 'Is your career one of the most important things in your life?',
    effects: { 'career-focus': 0.9 },
  },
  {
    id: 29,
    topic: 'other',
    text: 'Do you do your best thinking late at night?',
    effects: { chronotype: 0.8 },
  },
  {
    id: 30,
    topic: 'interpersonal',
    text: 'If an outfit did not suit a friend, would you tell them?',
    effects: { directness: 0.8, agreeableness: -0.2 },
  },
  {
    id: 31,
    topic: 'interpersonal',
    text: 'Do you often make jokes, even in serious situations?',
    effects: { playfulness: 0.8 },
  },
  {
    id: 32,
    topic: 'interpersonal',
    text: 'Do you believe in love at first sight?',
    effects: { romanticism: 0.8 },
  },
  {
    id: 33,
    topic: 'interpersonal',
    text: 'Do you like holding hands in public?',
    effects: { affection: 0.8 },
  },
  {
    id: 34,
    topic: 'interpersonal',
    text: 'Do you cry at films?',
    effects: { 'emotional-expressiveness': 0.6 },
  },
  {
    id: 35,
    topic: 'interpersonal',
    text: 'Do you tend to show you care through actions rather than words?',
    effects: { 'emotional-expressiveness': -0.5 },
  },
  {
    id: 36,
    topic: 'other',
    text: 'Do you like trying dishes you have never heard of before?',
    effects: { openness: 0.6, adventurousness: 0.4 },
  },
  {
    id: 37,
    topic: 'other',
    text: 'Do you keep a to-do list or calendar that you actually follow?',
    effects: { conscientiousness: 0.8 },
  },
  {
    id: 38,
    topic: 'other',
    text: 'Do you feel energised after spending time in a big group?',
    effects: { extraversion: 0.9 },
  },
  {
    id: 39,
    topic: 'other',
    text: 'Can you usually fall asleep easily, even after a stressful day?',
    effects: { 'emotional-stability': 0.5 },
  },
  {
    id: 40,
    topic: 'interpersonal',
    text: 'Do you go out of your way to help strangers?',
    effects: { agreeableness: 0.7 },
  },
  {
    id: 41,
    topic: 'other',
    text: 'Do you find it easy to say no to requests you do not want to take on?',
    effects: { assertiveness: 0.7, agreeableness: -0.2 },
  },
  {
    id: 42,
    topic: 'interpersonal',
    text: 'Do you need to hear "I love you" often to feel secure?',
    effects: { 'attachment-anxiety': 0.7, romanticism: 0.2 },
  },
  {
    id: 43,
    topic: 'interpersonal',
    text: 'Do you prefer not to depend on a partner?',
    effects: { 'attachment-avoidance': 0.7 },
  },
  {
    id: 44,
    topic: 'values',
    text: 'Should transgender people be able to have their gender legally recognised?',
    effects: { 'social-outlook': 0.8 },
  },
  {
    id: 45,
    topic: 'values',
    text: 'Should healthcare be free at the point of use for everyone?',
    effects: { 'economic-outlook': -0.8 },
  },
  {
    id: 46,
    topic: 'values',
    text: 'Do you believe in God or a higher power?',
    effects: { religiosity: 0.9 },
  },
  {
    id: 47,
    topic: 'values',
    text: 'Do you try to avoid buying single-use plastic?',
    effects: { environmentalism: 0.7 },
  },
  {
    id: 48,
    topic: 'other',
    text: 'Would you enjoy a hiking holiday?',
    effects: { 'physical-activity': 0.7, adventurousness: 0.3 },
  },
  {
    id: 49,
    topic: 'other',
    text: 'Do you enjoy going to concerts or festivals?',
    effects: { 'social-life': 0.6, extraversion: 0.2 },
  },
  {
    id: 50,
    topic: 'other',
    text: 'Do you compare prices before buying something expensive?',
    effects: { frugality: 0.6 },
  },
  {
    id: 51,
    topic: 'other',
    text: 'Would you try skydiving or bungee jumping?',
    effects: { adventurousness: 0.9, 'physical-activity': 0.2 },
  },
  {
    id: 52,
    topic: 'values',
    text: 'Do you see marriage as part of your future?',
    effects: { 'family-orientation': 0.6, romanticism: 0.3 },
  },
  {
    id: 53,
    topic: 'other',
    text: 'Do you often work or study in the evenings or at weekends?',
    effects: { 'career-focus': 0.7, chronotype: 0.2 },
  },
  { id: 54, topic: 'other', text: 'Are you often still awake after midnight?', effects: { chronotype: 0.8 } },
  {
    id: 55,
    topic: 'interpersonal',
    text: 'Do you prefer blunt feedback to gentle hints?',
    effects: { directness: 0.8 },
  },
  {
    id: 56,
    topic: 'interpersonal',
    text: 'Do you enjoy silly games and terrible puns?',
    effects: { playfulness: 0.7 },
  },
  {
    id: 57,
    topic: 'interpersonal',
    text: 'Do you like to plan surprises for a partner?',
    effects: { romanticism: 0.7 },
  },
  {
    id: 58,
    topic: 'interpersonal',
    text: 'Is cuddling one of your favourite ways to relax with a partner?',
    effects: { affection: 0.8 },
  },
  {
    id: 59,
    topic: 'interpersonal',
    text: 'Do you find it easy to talk about your feelings?',
    effects: { 'emotional-expressiveness': 0.9, 'attachment-avoidance': -0.3 },
  },
  {
    id: 60,
    topic: 'interpersonal',
    text: 'Do you find it hard to put your feelings into words?',
    effects: { 'emotional-expressiveness': -0.7, 'attachment-avoidance': 0.2 },
  },
  {
    id: 61,
    topic: 'other',
    text: 'Do you often find yourself thinking about big abstract questions, like the nature of time or consciousness?',
    effects: { openness: 0.8 },
  },
  {
    id: 62,
    topic: 'other',
    text: 'Do you usually finish tasks well before their deadlines?',
    effects: { conscientiousness: 0.8 },
  },
  {
    id: 63,
    topic: 'other',
    text: 'Do you enjoy being the centre of attention?',
    effects: { extraversion: 0.7, assertiveness: 0.3 },
  },
  {
    id: 64,
    topic: 'other',
    text: 'Do you bounce back quickly from disappointments?',
    effects: { 'emotional-stability': 0.8 },
  },
  {
    id: 65,
    topic: 'interpersonal',
    text: 'Do you usually give people the benefit of the doubt?',
    effects: { agreeableness: 0.7 },
  },
  {
    id: 66,
    topic: 'other',
    text: 'Would you haggle over the price of a car or another big purchase?',
    effects: { assertiveness: 0.6, frugality: 0.3 },
  },
  {
    id: 67,
    topic: 'interpersonal',
    text: 'Do you fear being abandoned by the people you love?',
    effects: { 'attachment-anxiety': 0.9, 'emotional-stability': -0.3 },
  },
  {
    id: 68,
    topic: 'interpersonal',
    text: 'Do you find it hard to open up about your feelings, even with someone you love?',
    effects: { 'attachment-avoidance': 0.6, 'emotional-expressiveness': -0.6 },
  },
  {
    id: 69,
    topic: 'values',
    text: 'Should recreational cannabis be legal for adults?',
    effects: { 'social-outlook': 0.6 },
  },
  {
    id: 70,
    topic: 'values',
    text: 'Do private companies usually run services better than governments do?',
    effects: { 'economic-outlook': 0.8 },
  },
  {
    id: 71,
    topic: 'values',
    text: 'Would you want a partner who shares your religious faith?',
    effects: { religiosity: 0.7 },
  },
  {
    id: 72,
    topic: 'values',
    text: 'Would you pay more for products that are better for the environment?',
    effects: { environmentalism: 0.7, frugality: -0.3 },
  },
  {
    id: 73,
    topic: 'other',
    text: 'Do you play a team sport?',
    effects: { 'physical-activity': 0.6, extraversion: 0.3 },
  },
  {
    id: 74,
    topic: 'other',
    text: 'Do you like having friends over for dinner often?',
    effects: { 'social-life': 0.6, extraversion: 0.3 },
  },
  {
    id: 75,
    topic: 'other',
    text: 'Would you buy second-hand clothes or furniture?',
    effects: { frugality: 0.6, environmentalism: 0.4 },
  },
  {
    id: 76,
    topic: 'other',
    text: 'Do you like to travel without a fixed itinerary?',
    effects: { adventurousness: 0.7, conscientiousness: -0.4 },
  },
  {
    id: 77,
    topic: 'other',
    text: 'Do you stay in regular contact with your family, however you define it?',
    effects: { 'family-orientation': 0.6 },
  },
  {
    id: 78,
    topic: 'other',
    text: 'Would you take a much more demanding job for a big pay rise?',
    effects: { 'career-focus': 0.7 },
  },
  {
    id: 79,
    topic: 'other',
    text: 'Would you rather stay out late than get up early to watch the sunrise?',
    effects: { chronotype: 0.6, 'social-life': 0.3 },
  },
  {
    id: 80,
    topic: 'interpersonal',
    text: 'Do you say what you think even when it might cause an awkward moment?',
    effects: { directness: 0.8, assertiveness: 0.3 },
  },
  {
    id: 81,
    topic: 'interpersonal',
    text: 'Do you enjoy playing harmless pranks on friends?',
    effects: { playfulness: 0.6, agreeableness: -0.2 },
  },
  {
    id: 82,
    topic: 'interpersonal',
    text: 'Do you believe there is one person out there who is meant for you?',
    effects: { romanticism: 0.8, religiosity: 0.2 },
  },
  {
    id: 83,
    topic: 'interpersonal',
    text: 'Do you hug friends when you greet them?',
    effects: { affection: 0.7, extraversion: 0.2 },
  },
  {
    id: 84,
    topic: 'interpersonal',
    text: 'Can people usually tell how you are feeling just by looking at you?',
    effects: { 'emotional-expressiveness': 0.7 },
  },
  {
    id: 85,
    topic: 'other',
    text: 'Do you like to stay close to home on your days off?',
    effects: { adventurousness: -0.5, 'social-life': -0.2 },
  },
  {
    id: 86,
    topic: 'other',
    text: 'Do you enjoy reading or listening to poetry?',
    effects: { openness: 0.6, romanticism: 0.3 },
  },
  {
    id: 87,
    topic: 'other',
    text: 'Is your home usually tidy enough for unexpected guests?',
    effects: { conscientiousness: 0.6 },
  },
  {
    id: 88,
    topic: 'other',
    text: 'Would you happily get up and sing karaoke?',
    effects: { extraversion: 0.6, playfulness: 0.4 },
  },
  {
    id: 89,
    topic: 'other',
    text: 'Can you take criticism without dwelling on it for days?',
    effects: { 'emotional-stability': 0.7 },
  },
  {
    id: 90,
    topic: 'interpersonal',
    text: 'When a friend is sad, do you drop what you are doing to be with them?',
    effects: { agreeableness: 0.6, 'emotional-expressiveness': 0.2 },
  },
  {
    id: 91,
    topic: 'other',
    text: 'Do you speak up when someone cuts in front of you in a queue?',
    effects: { assertiveness: 0.7, directness: 0.3 },
  },
  {
    id: 92,
    topic: 'interpersonal',
    text: 'Do you find yourself checking whether a partner still likes you?',
    effects: { 'attachment-anxiety': 0.8 },
  },
  {
    id: 93,
    topic: 'interpersonal',
    text: 'Do you sometimes pull away when a relationship starts getting serious?',
    effects: { 'attachment-avoidance': 0.9 },
  },
  {
    id: 94,
    topic: 'values',
    text: 'Should it be easier for people to immigrate to your country?',
    effects: { 'social-outlook': 0.7 },
  },
  {
    id: 95,
    topic: 'values',
    text: 'Should workers have a bigger say in how their companies are run?',
    effects: { 'economic-outlook': -0.6 },
  },
  {
    id: 96,
    topic: 'values',
    text: 'Do you attend religious services at least once a month?',
    effects: { religiosity: 0.9 },
  },
  {
    id: 97,
    topic: 'other',
    text: 'Are you vegetarian or vegan, or trying to eat less meat?',
    effects: { environmentalism: 0.6 },
  },
  {
    id: 98,
    topic: 'other',
    text: 'Would you rather go for a run than watch a film?',
    effects: { 'physical-activity': 0.7 },
  },
  {
    id: 99,
    topic: 'other',
    text: 'Would you want a partner to come with you to lots of social events?',
    effects: { 'social-life': 0.6 },
  },
  {
    id: 100,
    topic: 'other',
    text: 'Would you feel uncomfortable spending a lot on a single meal?',
    effects: { frugality: 0.7 },
  },
  {
    id: 101,
    topic: 'other',
    text: 'Would you go camping in the wilderness for a week?',
    effects: { adventurousness: 0.7, 'physical-activity': 0.3 },
  },
  {
    id: 102,
    topic: 'other',
    text: 'Would you consider having a relative live with you?',
    effects: { 'family-orientation': 0.6, agreeableness: 0.2 },
  },
  {
    id: 103,
    topic: 'other',
    text: 'Do you have clear goals for where you want to be in five years?',
    effects: { 'career-focus': 0.5, conscientiousness: 0.4 },
  },
  {
    id: 104,
    topic: 'other',
    text: 'Do you find it hard to get out of bed in the morning?',
    effects: { chronotype: 0.7 },
  },
  {
    id: 105,
    topic: 'interpersonal',
    text: 'Would you tell a date honestly if you did not want to see them again?',
    effects: { directness: 0.7 },
  },
  {
    id: 106,
    topic: 'interpersonal',
    text: 'Is a good sense of humour the thing you value most in a partner?',
    effects: { playfulness: 0.7 },
  },
  { id: 107, topic: 'interpersonal', text: 'Do you enjoy romantic comedies?', effects: { romanticism: 0.5 } },
  {
    id: 108,
    topic: 'interpersonal',
    text: 'Do you like falling asleep wrapped up with a partner?',
    effects: { affection: 0.7 },
  },
  {
    id: 109,
    topic: 'interpersonal',
    text: 'Do you tell friends when you are struggling?',
    effects: { 'emotional-expressiveness': 0.7, 'attachment-avoidance': -0.3 },
  },
  {
    id: 110,
    topic: 'other',
    text: 'Would you rather read about an adventure than have one?',
    effects: { adventurousness: -0.7 },
  },
  {
    id: 111,
    topic: 'other',
    text: 'Do you enjoy films with subtitles as much as ones in your own language?',
    effects: { openness: 0.5 },
  },
  {
    id: 112,
    topic: 'other',
    text: 'Do you feel uneasy when plans change at the last minute?',
    effects: { conscientiousness: 0.4, 'emotional-stability': -0.3, adventurousness: -0.2 },
  },
  {
    id: 113,
    topic: 'other',
    text: 'Do you tend to think out loud?',
    effects: { extraversion: 0.5, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 114,
    topic: 'other',
    text: 'Do you often feel anxious without knowing why?',
    effects: { 'emotional-stability': -0.8 },
  },
  {
    id: 115,
    topic: 'interpersonal',
    text: 'Do you avoid arguments even when you think you are right?',
    effects: { agreeableness: 0.5, directness: -0.6 },
  },
  {
    id: 116,
    topic: 'other',
    text: 'Would you like to be a manager or a leader at work?',
    effects: { assertiveness: 0.6, 'career-focus': 0.5 },
  },
  {
    id: 117,
    topic: 'interpersonal',
    text: 'Do you feel unsettled when a partner spends a lot of time with friends without you?',
    effects: { 'attachment-anxiety': 0.7 },
  },
  {
    id: 118,
    topic: 'interpersonal',
    text: 'Is keeping your own space important to you, even in a committed relationship?',
    effects: { 'attachment-avoidance': 0.5, affection: -0.2 },
  },
  {
    id: 119,
    topic: 'values',
    text: 'Do you think society should change faster than it does?',
    effects: { 'social-outlook': 0.7, openness: 0.2 },
  },
  {
    id: 120,
    topic: 'values',
    text: 'Should essential utilities like water and electricity be publicly owned?',
    effects: { 'economic-outlook': -0.7 },
  },
  {
    id: 121,
    topic: 'values',
    text: 'Do you believe there is some form of life after death?',
    effects: { religiosity: 0.7 },
  },
  {
    id: 122,
    topic: 'values',
    text: 'Should flying be made more expensive to cut emissions?',
    effects: { environmentalism: 0.8, 'economic-outlook': -0.3 },
  },
  {
    id: 123,
    topic: 'other',
    text: 'Do you feel restless if you have not moved much in a day?',
    effects: { 'physical-activity': 0.7 },
  },
  {
    id: 124,
    topic: 'other',
    text: 'Do you enjoy dancing at clubs or parties?',
    effects: { 'social-life': 0.7, playfulness: 0.3 },
  },
  {
    id: 125,
    topic: 'other',
    text: 'Would you rather own a home than travel widely?',
    effects: { frugality: 0.5, adventurousness: -0.4 },
  },
  {
    id: 126,
    topic: 'other',
    text: 'Do you enjoy taking risks?',
    effects: { adventurousness: 0.8, 'emotional-stability': 0.2 },
  },
  {
    id: 127,
    topic: 'other',
    text: 'Do you enjoy spending time with children?',
    effects: { 'family-orientation': 0.7 },
  },
  {
    id: 128,
    topic: 'other',
    text: 'Do you find it hard to switch off from work?',
    effects: { 'career-focus': 0.6, 'emotional-stability': -0.2 },
  },
  { id: 129, topic: 'other', text: 'Do you usually go to bed before 11 pm?', effects: { chronotype: -0.8 } },
  {
    id: 130,
    topic: 'interpersonal',
    text: 'Do you get frustrated when people beat around the bush?',
    effects: { directness: 0.6 },
  },
  {
    id: 131,
    topic: 'interpersonal',
    text: 'Do you laugh at yourself when you make a mistake?',
    effects: { playfulness: 0.6, 'emotional-stability': 0.3 },
  },
  {
    id: 132,
    topic: 'interpersonal',
    text: 'Do you keep cards, letters or mementoes from people you have loved?',
    effects: { romanticism: 0.5 },
  },
  {
    id: 133,
    topic: 'interpersonal',
    text: 'Is physical touch the main way you show love?',
    effects: { affection: 0.8 },
  },
  {
    id: 134,
    topic: 'interpersonal',
    text: 'Do you say "I love you" easily to the people you care about?',
    effects: { 'emotional-expressiveness': 0.7, affection: 0.3 },
  },
  {
    id: 135,
    topic: 'values',
    text: 'Will new technology do more for the environment than changes to how people live?',
    effects: { environmentalism: -0.5, 'economic-outlook': 0.2 },
  },
  {
    id: 136,
    topic: 'other',
    text: 'Do you enjoy exploring music outside the genres you usually listen to?',
    effects: { openness: 0.6 },
  },
  {
    id: 137,
    topic: 'other',
    text: 'Are you usually on time, or a little early?',
    effects: { conscientiousness: 0.7 },
  },
  {
    id: 138,
    topic: 'other',
    text: 'Do you need time alone to recharge after socialising?',
    effects: { extraversion: -0.8 },
  },
  {
    id: 139,
    topic: 'other',
    text: 'Do your moods tend to change quickly?',
    effects: { 'emotional-stability': -0.7, 'emotional-expressiveness': 0.2 },
  },
  {
    id: 140,
    topic: 'interpersonal',
    text: 'Do you enjoy winning an argument?',
    effects: { agreeableness: -0.5, assertiveness: 0.4 },
  },
  {
    id: 141,
    topic: 'other',
    text: 'Are you happy to let others choose where to eat?',
    effects: { assertiveness: -0.6, agreeableness: 0.3 },
  },
  {
    id: 142,
    topic: 'interpersonal',
    text: 'Do you feel secure in a relationship without needing much reassurance?',
    effects: { 'attachment-anxiety': -0.9 },
  },
  {
    id: 143,
    topic: 'interpersonal',
    text: 'Would you rather sort out personal problems on your own than talk them through with a partner?',
    effects: { 'attachment-avoidance': 0.7, 'emotional-expressiveness': -0.3 },
  },
  {
    id: 144,
    topic: 'values',
    text: 'Should abortion be legal in most cases?',
    effects: { 'social-outlook': 0.8, religiosity: -0.3 },
  },
  {
    id: 145,
    topic: 'values',
    text: 'Is being wealthy mostly the result of hard work?',
    effects: { 'economic-outlook': 0.7 },
  },
  {
    id: 146,
    topic: 'values',
    text: 'Do you believe things happen for a reason?',
    effects: { religiosity: 0.5 },
  },
  {
    id: 147,
    topic: 'values',
    text: 'Is climate change one of the biggest issues of our time?',
    effects: { environmentalism: 0.9, 'social-outlook': 0.2 },
  },
  {
    id: 148,
    topic: 'other',
    text: 'Would you like a partner to be your workout buddy?',
    effects: { 'physical-activity': 0.6 },
  },
  {
    id: 149,
    topic: 'other',
    text: 'Do you prefer a quiet night in to a night out?',
    effects: { 'social-life': -0.9 },
  },
  {
    id: 150,
    topic: 'other',
    text: 'Do you often buy things on impulse?',
    effects: { frugality: -0.8, conscientiousness: -0.3 },
  },
  {
    id: 151,
    topic: 'other',
    text: 'Do you prefer holidays where everything is arranged for you?',
    effects: { adventurousness: -0.7 },
  },
  {
    id: 152,
    topic: 'other',
    text: 'Are family gatherings and celebrations a big deal for you?',
    effects: { 'family-orientation': 0.7 },
  },
  {
    id: 153,
    topic: 'other',
    text: 'Would you take a pay cut to work fewer hours?',
    effects: { 'career-focus': -0.8 },
  },
  {
    id: 154,
    topic: 'other',
    text: 'Do you usually wake up without an alarm?',
    effects: { chronotype: -0.5 },
  },
  {
    id: 155,
    topic: 'interpersonal',
    text: 'Do you soften bad news so that it is easier to hear?',
    effects: { directness: -0.6, agreeableness: 0.3 },
  },
  {
    id: 156,
    topic: 'interpersonal',
    text: 'Do you enjoy dark or absurd humour?',
    effects: { playfulness: 0.5, openness: 0.3 },
  },
  {
    id: 157,
    topic: 'interpersonal',
    text: 'Do you like to make a fuss of anniversaries?',
    effects: { romanticism: 0.6 },
  },
  {
    id: 158,
    topic: 'interpersonal',
    text: 'Do public displays of affection make you uncomfortable?',
    effects: { affection: -0.8 },
  },
  {
    id: 159,
    topic: 'interpersonal',
    text: 'Do you usually keep your problems to yourself?',
    effects: { 'emotional-expressiveness': -0.8, 'attachment-avoidance': 0.3 },
  },
  {
    id: 160,
    topic: 'other',
    text: 'Is exercise something you only do when you have to?',
    effects: { 'physical-activity': -0.8 },
  },
  {
    id: 161,
    topic: 'sex',
    text: 'Would you wait until you are in a committed relationship before becoming intimate?',
    effects: { 'social-outlook': -0.5, religiosity: 0.3, romanticism: 0.3 },
  },
  {
    id: 162,
    topic: 'other',
    text: 'Do you have a creative hobby, such as painting, writing, crafting or making music?',
    effects: { openness: 0.6 },
  },
  {
    id: 163,
    topic: 'other',
    text: 'Do you often leave things until the last minute?',
    effects: { conscientiousness: -0.8 },
  },
  { id: 164, topic: 'other', text: 'Do you prefer texting to phone calls?', effects: { extraversion: -0.4 } },
  {
    id: 165,
    topic: 'other',
    text: 'Do you replay embarrassing moments in your head long after they happened?',
    effects: { 'emotional-stability': -0.6 },
  },
  {
    id: 166,
    topic: 'interpersonal',
    text: 'Do you think most people are mainly out for themselves?',
    effects: { agreeableness: -0.7 },
  },
  {
    id: 167,
    topic: 'other',
    text: 'Do you find it hard to ask for a pay rise or a promotion?',
    effects: { assertiveness: -0.7 },
  },
  {
    id: 168,
    topic: 'interpersonal',
    text: 'If a date cancels, do you assume they had a good reason?',
    effects: { 'attachment-anxiety': -0.6, agreeableness: 0.3 },
  },
  {
    id: 169,
    topic: 'interpersonal',
    text: 'Do you find it easy to lean on a partner when things are hard?',
    effects: { 'attachment-avoidance': -0.8 },
  },
  {
    id: 170,
    topic: 'values',
    text: 'Do traditional gender roles have value for families today?',
    effects: { 'social-outlook': -0.8, 'family-orientation': 0.2 },
  },
  {
    id: 171,
    topic: 'values',
    text: 'Should unemployment benefits be kept low so that people are encouraged to work?',
    effects: { 'economic-outlook': 0.8 },
  },
  {
    id: 172,
    topic: 'values',
    text: 'Would you want to raise children within a religious tradition?',
    effects: { religiosity: 0.8, 'family-orientation': 0.2, 'social-outlook': -0.2 },
  },
  {
    id: 173,
    topic: 'values',
    text: 'Are concerns about climate change exaggerated?',
    effects: { environmentalism: -0.9 },
  },
  {
    id: 174,
    topic: 'other',
    text: 'Is your idea of a perfect Sunday spending it on the sofa?',
    effects: { 'physical-activity': -0.7, 'social-life': -0.4 },
  },
  {
    id: 175,
    topic: 'other',
    text: 'Do you have a small circle of close friends rather than a wide one?',
    effects: { 'social-life': -0.5, extraversion: -0.4 },
  },
  {
    id: 176,
    topic: 'other',
    text: 'Are you happy to pay extra for designer brands?',
    effects: { frugality: -0.7 },
  },
  {
    id: 177,
    topic: 'other',
    text: 'Would you rather return to a favourite holiday spot than visit somewhere new?',
    effects: { adventurousness: -0.6, openness: -0.3 },
  },
  {
    id: 178,
    topic: 'values',
    text: 'Could you see yourself happily never raising children?',
    effects: { 'family-orientation': -0.8 },
  },
  {
    id: 179,
    topic: 'other',
    text: 'Do you see your job mainly as a way to pay the bills?',
    effects: { 'career-focus': -0.8 },
  },
  {
    id: 180,
    topic: 'other',
    text: 'Do you enjoy exercising first thing in the morning?',
    effects: { chronotype: -0.6, 'physical-activity': 0.5 },
  },
  {
    id: 181,
    topic: 'interpersonal',
    text: "Do you sometimes tell white lies to spare someone's feelings?",
    effects: { directness: -0.6, agreeableness: 0.3 },
  },
  {
    id: 182,
    topic: 'interpersonal',
    text: 'Do you find that people joke around too much?',
    effects: { playfulness: -0.7 },
  },
  {
    id: 183,
    topic: 'interpersonal',
    text: 'Would you write someone a love letter?',
    effects: { romanticism: 0.7, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 184,
    topic: 'interpersonal',
    text: 'Do you prefer plenty of space to yourself when sleeping?',
    effects: { affection: -0.5 },
  },
  {
    id: 185,
    topic: 'interpersonal',
    text: 'Would your friends describe you as hard to read?',
    effects: { 'emotional-expressiveness': -0.7 },
  },
  {
    id: 186,
    topic: 'other',
    text: 'Could you be happy living a long way from any of your relatives?',
    effects: { 'family-orientation': -0.5 },
  },
  {
    id: 187,
    topic: 'sex',
    text: 'Is a satisfying sex life one of the most important parts of a relationship?',
    effects: { affection: 0.5, 'emotional-expressiveness': 0.2 },
  },
  {
    id: 188,
    topic: 'other',
    text: 'Do you enjoy debating ideas just for the sake of exploring them?',
    effects: { openness: 0.5, directness: 0.3 },
  },
  {
    id: 189,
    topic: 'other',
    text: 'Do you regularly misplace your keys, wallet or phone?',
    effects: { conscientiousness: -0.6 },
  },
  { id: 190, topic: 'other', text: 'Do you find small talk draining?', effects: { extraversion: -0.6 } },
  {
    id: 191,
    topic: 'other',
    text: 'Do you get irritated easily when you are stuck in traffic or a long queue?',
    effects: { 'emotional-stability': -0.5, agreeableness: -0.3 },
  },
  {
    id: 192,
    topic: 'interpersonal',
    text: 'Do you find it hard to let go of a grudge?',
    effects: { agreeableness: -0.7, 'emotional-stability': -0.2 },
  },
  {
    id: 193,
    topic: 'other',
    text: 'Do you prefer to support a leader rather than be one?',
    effects: { assertiveness: -0.8 },
  },
  {
    id: 194,
    topic: 'interpersonal',
    text: 'Are you comfortable with a partner having close friends of any gender?',
    effects: { 'attachment-anxiety': -0.6 },
  },
  {
    id: 195,
    topic: 'interpersonal',
    text: 'Do you enjoy sharing your deepest thoughts with a partner?',
    effects: { 'attachment-avoidance': -0.7, 'emotional-expressiveness': 0.4 },
  },
  {
    id: 196,
    topic: 'values',
    text: 'Should newcomers to a country be expected to adopt its traditions?',
    effects: { 'social-outlook': -0.6 },
  },
  {
    id: 197,
    topic: 'values',
    text: 'Would you support a basic income paid to every adult?',
    effects: { 'economic-outlook': -0.7, 'social-outlook': 0.2 },
  },
  {
    id: 198,
    topic: 'values',
    text: 'Do you think science can, in principle, explain everything?',
    effects: { religiosity: -0.7 },
  },
  {
    id: 199,
    topic: 'other',
    text: 'If money were no object, would you choose a big car over a small one?',
    effects: { environmentalism: -0.5, frugality: -0.2 },
  },
  {
    id: 200,
    topic: 'other',
    text: 'Do you take the lift rather than the stairs whenever you can?',
    effects: { 'physical-activity': -0.6 },
  },
  {
    id: 201,
    topic: 'interpersonal',
    text: 'Would you be happy with a partner who rarely wants to go out?',
    effects: { 'social-life': -0.6 },
  },
  {
    id: 202,
    topic: 'other',
    text: "Would you spend a month's savings on an amazing holiday?",
    effects: { frugality: -0.7, adventurousness: 0.4 },
  },
  {
    id: 203,
    topic: 'other',
    text: 'Do you feel uneasy in unfamiliar places?',
    effects: { adventurousness: -0.6, 'emotional-stability': -0.3 },
  },
  {
    id: 204,
    topic: 'values',
    text: 'Do you value your freedom more than the idea of settling down?',
    effects: { 'family-orientation': -0.6, 'attachment-avoidance': 0.3 },
  },
  {
    id: 205,
    topic: 'other',
    text: 'Would you retire early if you could afford to?',
    effects: { 'career-focus': -0.6 },
  },
  {
    id: 206,
    topic: 'other',
    text: 'Is a weekend lie-in a waste of a good morning?',
    effects: { chronotype: -0.7 },
  },
  {
    id: 207,
    topic: 'interpersonal',
    text: 'Would you rather drop hints than ask for something outright?',
    effects: { directness: -0.7, assertiveness: -0.3 },
  },
  {
    id: 208,
    topic: 'interpersonal',
    text: 'Do you prefer serious conversation to banter?',
    effects: { playfulness: -0.7, openness: 0.2 },
  },
  {
    id: 209,
    topic: 'interpersonal',
    text: 'Do candlelit dinners and bunches of roses feel a bit clichéd to you?',
    effects: { romanticism: -0.7 },
  },
  {
    id: 210,
    topic: 'interpersonal',
    text: 'Do you need a lot of personal space?',
    effects: { affection: -0.6, 'attachment-avoidance': 0.3 },
  },
  {
    id: 211,
    topic: 'interpersonal',
    text: 'Do you stay composed in public even when you are upset?',
    effects: { 'emotional-expressiveness': -0.6, 'emotional-stability': 0.3 },
  },
  {
    id: 212,
    topic: 'other',
    text: 'Would you prefer a job with little responsibility and plenty of free time?',
    effects: { 'career-focus': -0.7, assertiveness: -0.2 },
  },
  {
    id: 213,
    topic: 'sex',
    text: 'Are you comfortable talking openly with a partner about what you enjoy in bed?',
    effects: { directness: 0.5, 'emotional-expressiveness': 0.4, openness: 0.3 },
  },
  {
    id: 214,
    topic: 'other',
    text: 'When you eat out, do you usually order a dish you already know you like?',
    effects: { openness: -0.5, adventurousness: -0.4 },
  },
  {
    id: 215,
    topic: 'other',
    text: 'Would you happily book a trip the day before leaving?',
    effects: { conscientiousness: -0.5, adventurousness: 0.5 },
  },
  {
    id: 216,
    topic: 'other',
    text: 'At a party, would you rather have one long conversation than meet lots of people?',
    effects: { extraversion: -0.6 },
  },
  {
    id: 217,
    topic: 'other',
    text: 'Can a small setback spoil your whole day?',
    effects: { 'emotional-stability': -0.8 },
  },
  {
    id: 218,
    topic: 'values',
    text: 'Do you think competition brings out the best in people?',
    effects: { agreeableness: -0.5, 'economic-outlook': 0.3 },
  },
  {
    id: 219,
    topic: 'other',
    text: 'Do you often go along with the group even when you would prefer something else?',
    effects: { assertiveness: -0.7, agreeableness: 0.3 },
  },
  {
    id: 220,
    topic: 'interpersonal',
    text: 'Can you enjoy time apart from a partner without worrying about the relationship?',
    effects: { 'attachment-anxiety': -0.7 },
  },
  {
    id: 221,
    topic: 'interpersonal',
    text: 'Would you like to talk with a partner every day, even when you are apart?',
    effects: { 'attachment-avoidance': -0.6 },
  },
  { id: 222, topic: 'values', text: 'Is patriotism important to you?', effects: { 'social-outlook': -0.6 } },
  {
    id: 223,
    topic: 'values',
    text: 'Are trade unions good for workers?',
    effects: { 'economic-outlook': -0.6 },
  },
  {
    id: 224,
    topic: 'values',
    text: 'Would you describe yourself as an atheist or agnostic?',
    effects: { religiosity: -0.9 },
  },
  {
    id: 225,
    topic: 'values',
    text: 'Should economic growth come before protecting the environment?',
    effects: { environmentalism: -0.8, 'economic-outlook': 0.4 },
  },
  { id: 226, topic: 'other', text: 'Do you find gyms boring?', effects: { 'physical-activity': -0.5 } },
  {
    id: 227,
    topic: 'other',
    text: 'Do you feel relieved when plans get cancelled?',
    effects: { 'social-life': -0.7, extraversion: -0.4 },
  },
  {
    id: 228,
    topic: 'other',
    text: 'Is money mainly for enjoying rather than saving?',
    effects: { frugality: -0.8 },
  },
  {
    id: 229,
    topic: 'other',
    text: 'Do you avoid activities that carry any risk of injury?',
    effects: { adventurousness: -0.7 },
  },
  {
    id: 230,
    topic: 'other',
    text: 'Would you move far away from your family for a great opportunity?',
    effects: { 'family-orientation': -0.5, 'career-focus': 0.4, adventurousness: 0.3 },
  },
  {
    id: 231,
    topic: 'other',
    text: 'Do you turn off work notifications outside working hours?',
    effects: { 'career-focus': -0.5 },
  },
  {
    id: 232,
    topic: 'other',
    text: 'Do you feel most productive before noon?',
    effects: { chronotype: -0.8 },
  },
  {
    id: 233,
    topic: 'interpersonal',
    text: 'Do you avoid confrontation whenever you can?',
    effects: { directness: -0.7, agreeableness: 0.3 },
  },
  {
    id: 234,
    topic: 'interpersonal',
    text: 'Do you dislike being teased, even affectionately?',
    effects: { playfulness: -0.6, 'emotional-stability': -0.2 },
  },
  {
    id: 235,
    topic: 'interpersonal',
    text: 'Does compatibility matter more to you than chemistry?',
    effects: { romanticism: -0.6 },
  },
  {
    id: 236,
    topic: 'interpersonal',
    text: 'Would you rather show love through kind acts than through touch?',
    effects: { affection: -0.6 },
  },
  {
    id: 237,
    topic: 'interpersonal',
    text: 'Are feelings best kept private?',
    effects: { 'emotional-expressiveness': -0.7 },
  },
  {
    id: 238,
    topic: 'interpersonal',
    text: 'Do you find it hard to tell people when they have upset you?',
    effects: { directness: -0.7, assertiveness: -0.2 },
  },
  {
    id: 239,
    topic: 'sex',
    text: 'Would you be open to a relationship that is not strictly monogamous?',
    effects: { 'social-outlook': 0.4, adventurousness: 0.4, romanticism: -0.3 },
  },
  {
    id: 240,
    topic: 'other',
    text: 'Do you find most modern art hard to take seriously?',
    effects: { openness: -0.6 },
  },
  {
    id: 241,
    topic: 'other',
    text: 'Are dishes often left in your sink overnight?',
    effects: { conscientiousness: -0.5 },
  },
  {
    id: 242,
    topic: 'other',
    text: 'Do you often feel awkward in a group of people you do not know?',
    effects: { extraversion: -0.6, 'emotional-stability': -0.3 },
  },
  {
    id: 243,
    topic: 'other',
    text: 'Would your friends describe you as laid-back?',
    effects: { 'emotional-stability': 0.6, conscientiousness: -0.2 },
  },
  {
    id: 244,
    topic: 'interpersonal',
    text: 'Would you complain to a waiter about bad service?',
    effects: { agreeableness: -0.4, directness: 0.4, assertiveness: 0.3 },
  },
  {
    id: 245,
    topic: 'other',
    text: 'Do you apologise even when something was not your fault?',
    effects: { assertiveness: -0.5, agreeableness: 0.3 },
  },
  {
    id: 246,
    topic: 'interpersonal',
    text: 'Do you trust that a partner would tell you if something were wrong?',
    effects: { 'attachment-anxiety': -0.6, agreeableness: 0.2 },
  },
  {
    id: 247,
    topic: 'interpersonal',
    text: 'Do you like doing almost everything together with a partner?',
    effects: { 'attachment-avoidance': -0.7, 'social-life': -0.2 },
  },
  {
    id: 248,
    topic: 'values',
    text: 'Should the death penalty be allowed for the most serious crimes?',
    effects: { 'social-outlook': -0.7 },
  },
  {
    id: 249,
    topic: 'values',
    text: 'Would the economy be better off with less regulation of business?',
    effects: { 'economic-outlook': 0.8, environmentalism: -0.2 },
  },
  {
    id: 250,
    topic: 'values',
    text: 'Would the world be better off with less religion in it?',
    effects: { religiosity: -0.8, 'social-outlook': 0.3 },
  },
  {
    id: 251,
    topic: 'other',
    text: 'Is recycling more trouble than it is worth?',
    effects: { environmentalism: -0.7, conscientiousness: -0.2 },
  },
  {
    id: 252,
    topic: 'other',
    text: 'Would you rather drive than walk for 20 minutes?',
    effects: { 'physical-activity': -0.6, environmentalism: -0.3 },
  },
  {
    id: 253,
    topic: 'other',
    text: 'Do you prefer a small gathering to a big party?',
    effects: { 'social-life': -0.6, extraversion: -0.4 },
  },
  {
    id: 254,
    topic: 'other',
    text: 'Do you often treat friends to dinner or drinks?',
    effects: { frugality: -0.4, agreeableness: 0.3 },
  },
  {
    id: 255,
    topic: 'interpersonal',
    text: 'Do you like to know exactly what you will be doing on a date in advance?',
    effects: { adventurousness: -0.5, conscientiousness: 0.3 },
  },
  {
    id: 256,
    topic: 'other',
    text: 'Would you rather spend holidays with friends than with family?',
    effects: { 'family-orientation': -0.6 },
  },
  {
    id: 257,
    topic: 'other',
    text: 'Would you turn down a promotion if it meant less free time?',
    effects: { 'career-focus': -0.7 },
  },
  {
    id: 258,
    topic: 'other',
    text: 'Do you tend to get a second wind in the evening?',
    effects: { chronotype: 0.6 },
  },
  {
    id: 259,
    topic: 'interpersonal',
    text: 'If you lost interest in someone you were chatting with, would you rather let it fade than say so?',
    effects: { directness: -0.7 },
  },
  {
    id: 260,
    topic: 'interpersonal',
    text: 'Are there topics you think should never be joked about?',
    effects: { playfulness: -0.5 },
  },
  { id: 261, topic: 'interpersonal', text: "Is Valentine's Day overrated?", effects: { romanticism: -0.6 } },
  {
    id: 262,
    topic: 'interpersonal',
    text: 'Do you find it awkward when acquaintances hug you?',
    effects: { affection: -0.7, extraversion: -0.2 },
  },
  {
    id: 263,
    topic: 'interpersonal',
    text: "Do you find other people's displays of emotion a little uncomfortable?",
    effects: { 'emotional-expressiveness': -0.6, affection: -0.2 },
  },
  {
    id: 264,
    topic: 'interpersonal',
    text: 'Do practical jokes tend to annoy you?',
    effects: { playfulness: -0.6 },
  },
  {
    id: 265,
    topic: 'sex',
    text: 'Is sex outside a committed relationship fine with you?',
    effects: { 'social-outlook': 0.5, religiosity: -0.4 },
  },
  {
    id: 266,
    topic: 'other',
    text: 'Do you prefer practical, hands-on problems to theoretical ones?',
    effects: { openness: -0.5 },
  },
  {
    id: 267,
    topic: 'other',
    text: 'Do you tend to start projects with enthusiasm and leave them unfinished?',
    effects: { conscientiousness: -0.7, openness: 0.2 },
  },
  {
    id: 268,
    topic: 'other',
    text: 'Do you make new friends easily?',
    effects: { extraversion: 0.7, agreeableness: 0.2 },
  },
  {
    id: 269,
    topic: 'other',
    text: 'Do you often worry about things that might go wrong in the future?',
    effects: { 'emotional-stability': -0.7 },
  },
  {
    id: 270,
    topic: 'interpersonal',
    text: "Do you feel other people's pain almost as if it were your own?",
    effects: { agreeableness: 0.7, 'emotional-expressiveness': 0.2 },
  },
  {
    id: 271,
    topic: 'other',
    text: 'In a disagreement, do you usually hold your ground?',
    effects: { assertiveness: 0.7, agreeableness: -0.3 },
  },
  {
    id: 272,
    topic: 'interpersonal',
    text: 'After an argument, do you need to resolve things before you can relax?',
    effects: { 'attachment-anxiety': 0.5, directness: 0.3 },
  },
  {
    id: 273,
    topic: 'interpersonal',
    text: 'Do you find it easy to tell someone that you need them?',
    effects: { 'attachment-avoidance': -0.7, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 274,
    topic: 'values',
    text: 'Should sex education be left mainly to parents rather than schools?',
    effects: { 'social-outlook': -0.6, religiosity: 0.2 },
  },
  {
    id: 275,
    topic: 'other',
    text: 'Have you ever wanted to start your own business?',
    effects: { 'economic-outlook': 0.3, 'career-focus': 0.5, adventurousness: 0.3 },
  },
  {
    id: 276,
    topic: 'values',
    text: 'Are you sceptical of astrology, tarot and similar practices?',
    effects: { religiosity: -0.5 },
  },
  {
    id: 277,
    topic: 'other',
    text: 'Would you take a long-haul flight for a weekend away?',
    effects: { environmentalism: -0.5, adventurousness: 0.3 },
  },
  {
    id: 278,
    topic: 'other',
    text: 'Are you happiest relaxing rather than doing something active?',
    effects: { 'physical-activity': -0.7 },
  },
  {
    id: 279,
    topic: 'other',
    text: 'Do you enjoy cooking at home more than eating out?',
    effects: { 'social-life': -0.4, frugality: 0.3 },
  },
  {
    id: 280,
    topic: 'other',
    text: 'Do you like to splurge on a treat when you have had a good week?',
    effects: { frugality: -0.5 },
  },
  {
    id: 281,
    topic: 'other',
    text: 'Would you rather have a secure job than an exciting but uncertain one?',
    effects: { adventurousness: -0.6, frugality: 0.2 },
  },
  {
    id: 282,
    topic: 'values',
    text: 'Can a couple feel complete without children?',
    effects: { 'family-orientation': -0.5 },
  },
  {
    id: 283,
    topic: 'other',
    text: 'Would you relocate for your career?',
    effects: { 'career-focus': 0.6, adventurousness: 0.2 },
  },
  {
    id: 284,
    topic: 'interpersonal',
    text: 'Would you enjoy a date that starts at 10 pm?',
    effects: { chronotype: 0.6, 'social-life': 0.3 },
  },
  {
    id: 285,
    topic: 'interpersonal',
    text: 'Do you spend a long time working out how to phrase a difficult message?',
    effects: { directness: -0.4 },
  },
  {
    id: 286,
    topic: 'interpersonal',
    text: 'Would people who know you describe you as a serious person?',
    effects: { playfulness: -0.7 },
  },
  {
    id: 287,
    topic: 'interpersonal',
    text: 'Is lasting love mostly about effort rather than feelings?',
    effects: { romanticism: -0.5 },
  },
  {
    id: 288,
    topic: 'interpersonal',
    text: 'Do you prefer a wave or a handshake to a hug when meeting new people?',
    effects: { affection: -0.6 },
  },
  {
    id: 289,
    topic: 'interpersonal',
    text: 'Do you enjoy giving compliments?',
    effects: { 'emotional-expressiveness': 0.5, agreeableness: 0.4 },
  },
  {
    id: 290,
    topic: 'interpersonal',
    text: 'Do you find it hard to stay patient with people who are slow to catch on?',
    effects: { agreeableness: -0.5, 'emotional-stability': -0.2 },
  },
  {
    id: 291,
    topic: 'sex',
    text: 'Is trying new things in the bedroom important to you?',
    effects: { adventurousness: 0.5, openness: 0.4 },
  },
  {
    id: 292,
    topic: 'other',
    text: 'Do you like your week to follow much the same routine?',
    effects: { openness: -0.4, conscientiousness: 0.4, adventurousness: -0.4 },
  },
  {
    id: 293,
    topic: 'other',
    text: 'Do you treat most rules as guidelines rather than strict requirements?',
    effects: { conscientiousness: -0.5, 'social-outlook': 0.2 },
  },
  {
    id: 294,
    topic: 'other',
    text: 'Are you usually quiet in a new group until you get to know people?',
    effects: { extraversion: -0.6, assertiveness: -0.3 },
  },
  {
    id: 295,
    topic: 'interpersonal',
    text: 'Is jealousy something you rarely feel in relationships?',
    effects: { 'emotional-stability': 0.4, 'attachment-anxiety': -0.6 },
  },
  {
    id: 296,
    topic: 'interpersonal',
    text: 'Do you find it hard to sympathise with people whose problems are of their own making?',
    effects: { agreeableness: -0.6 },
  },
  {
    id: 297,
    topic: 'other',
    text: 'Do you feel uncomfortable giving other people instructions?',
    effects: { assertiveness: -0.6 },
  },
  {
    id: 298,
    topic: 'interpersonal',
    text: 'Have you worried that you want more closeness than your partners are willing to give?',
    effects: { 'attachment-anxiety': 0.8, 'attachment-avoidance': -0.3 },
  },
  {
    id: 299,
    topic: 'interpersonal',
    text: 'Would you be happy to share a bank account with a long-term partner?',
    effects: { 'attachment-avoidance': -0.5 },
  },
  {
    id: 300,
    topic: 'values',
    text: 'Should couples wait until they are married to live together?',
    effects: { 'social-outlook': -0.6, religiosity: 0.4 },
  },
  {
    id: 301,
    topic: 'values',
    text: 'Should university education be free for students?',
    effects: { 'economic-outlook': -0.7 },
  },
  {
    id: 302,
    topic: 'values',
    text: 'Could you happily marry someone whose religious beliefs were very different from yours?',
    effects: { religiosity: -0.5, openness: 0.3 },
  },
  {
    id: 303,
    topic: 'values',
    text: 'Do individual choices make little difference to the environment?',
    effects: { environmentalism: -0.6 },
  },
  {
    id: 304,
    topic: 'other',
    text: 'Do you walk or cycle for most short trips?',
    effects: { 'physical-activity': 0.6, environmentalism: 0.4 },
  },
  {
    id: 305,
    topic: 'other',
    text: 'Would you rather live in a busy city than in the countryside?',
    effects: { 'social-life': 0.6, extraversion: 0.2 },
  },
  {
    id: 306,
    topic: 'other',
    text: 'Do you keep track of your spending, for example with a budget?',
    effects: { frugality: 0.6, conscientiousness: 0.5 },
  },
  {
    id: 307,
    topic: 'other',
    text: 'Do you enjoy spontaneous road trips?',
    effects: { adventurousness: 0.6, conscientiousness: -0.3 },
  },
  {
    id: 308,
    topic: 'values',
    text: 'Is travelling the world more appealing to you than starting a family?',
    effects: { 'family-orientation': -0.7, adventurousness: 0.4 },
  },
  {
    id: 309,
    topic: 'interpersonal',
    text: 'If you had to choose, would you put your career ahead of a relationship?',
    effects: { 'career-focus': 0.7, 'attachment-avoidance': 0.2 },
  },
  {
    id: 310,
    topic: 'interpersonal',
    text: 'Do you like to talk about problems in a relationship as soon as they come up?',
    effects: { directness: 0.6, 'attachment-avoidance': -0.3 },
  },
  {
    id: 311,
    topic: 'interpersonal',
    text: 'On a first date, do you prefer deep conversation to light-hearted chat?',
    effects: { playfulness: -0.4, openness: 0.4, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 312,
    topic: 'interpersonal',
    text: 'Would you rather receive a useful gift than a sentimental one?',
    effects: { romanticism: -0.6 },
  },
  {
    id: 313,
    topic: 'interpersonal',
    text: 'Do you notice when someone is upset even if they try to hide it?',
    effects: { agreeableness: 0.5, 'emotional-expressiveness': 0.2 },
  },
  {
    id: 314,
    topic: 'interpersonal',
    text: 'Are grand romantic gestures mostly for show?',
    effects: { romanticism: -0.6 },
  },
  {
    id: 315,
    topic: 'sex',
    text: 'Would it bother you if a partner watched adult content?',
    effects: { 'social-outlook': -0.4, 'attachment-anxiety': 0.3 },
  },
  {
    id: 316,
    topic: 'other',
    text: 'Do you find philosophical discussions tiresome?',
    effects: { openness: -0.7 },
  },
  {
    id: 317,
    topic: 'other',
    text: 'Do you prefer to decide what to do on the day rather than plan ahead?',
    effects: { conscientiousness: -0.7, adventurousness: 0.3 },
  },
  {
    id: 318,
    topic: 'other',
    text: 'Do you enjoy chatting with people in shops, cafés or on public transport?',
    effects: { extraversion: 0.7 },
  },
  {
    id: 319,
    topic: 'other',
    text: 'Do you stay level-headed in an emergency?',
    effects: { 'emotional-stability': 0.8, assertiveness: 0.2 },
  },
  {
    id: 320,
    topic: 'interpersonal',
    text: 'Do you volunteer your time for causes you care about?',
    effects: { agreeableness: 0.5, extraversion: 0.2 },
  },
  {
    id: 321,
    topic: 'interpersonal',
    text: 'Would you be fine with a partner having a close friendship with an ex?',
    effects: { 'attachment-anxiety': -0.6 },
  },
  {
    id: 322,
    topic: 'interpersonal',
    text: 'Do you think couples should keep mostly separate friendship groups?',
    effects: { 'attachment-avoidance': 0.5 },
  },
  {
    id: 323,
    topic: 'values',
    text: 'Should the police be given more powers to keep the streets safe?',
    effects: { 'social-outlook': -0.6 },
  },
  {
    id: 324,
    topic: 'values',
    text: 'Is it fair that people who earn more can pay for better healthcare or schooling?',
    effects: { 'economic-outlook': 0.7 },
  },
  {
    id: 325,
    topic: 'values',
    text: 'Can a person be completely moral without any religious belief?',
    effects: { religiosity: -0.5 },
  },
  {
    id: 326,
    topic: 'values',
    text: 'Would you give up owning a car to live more sustainably?',
    effects: { environmentalism: 0.8 },
  },
  {
    id: 327,
    topic: 'other',
    text: 'Do you love spending time outdoors in nature?',
    effects: { 'physical-activity': 0.4, environmentalism: 0.4 },
  },
  {
    id: 328,
    topic: 'other',
    text: 'Would you like to live in a small village one day?',
    effects: { 'social-life': -0.5 },
  },
  {
    id: 329,
    topic: 'other',
    text: 'Do you check your bank balance regularly?',
    effects: { frugality: 0.5, conscientiousness: 0.3 },
  },
  {
    id: 330,
    topic: 'other',
    text: 'Would you pick a trip somewhere new over a relaxing break somewhere familiar?',
    effects: { adventurousness: 0.6, openness: 0.3 },
  },
  {
    id: 331,
    topic: 'interpersonal',
    text: 'Would you want a partner to spend holidays with your family?',
    effects: { 'family-orientation': 0.6, 'attachment-avoidance': -0.3 },
  },
  {
    id: 332,
    topic: 'interpersonal',
    text: 'If you were attracted to someone else, would you tell your partner?',
    effects: { directness: 0.6, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 333,
    topic: 'interpersonal',
    text: 'When you fall for someone, do you fall fast?',
    effects: { romanticism: 0.6, 'attachment-anxiety': 0.3 },
  },
  {
    id: 334,
    topic: 'interpersonal',
    text: 'Do you tend to trust new people only once they have proved themselves?',
    effects: { agreeableness: -0.5 },
  },
  {
    id: 335,
    topic: 'sex',
    text: 'Do you prefer to take things slowly physically when dating someone new?',
    effects: { romanticism: 0.3, adventurousness: -0.3 },
  },
  {
    id: 336,
    topic: 'other',
    text: 'When you read for pleasure, do you mostly stick to one familiar genre?',
    effects: { openness: -0.5 },
  },
  {
    id: 337,
    topic: 'other',
    text: 'Do you read the instructions before putting something together?',
    effects: { conscientiousness: 0.6 },
  },
  {
    id: 338,
    topic: 'interpersonal',
    text: 'Would you give money to someone asking for it in the street?',
    effects: { agreeableness: 0.6, frugality: -0.3 },
  },
  {
    id: 339,
    topic: 'interpersonal',
    text: 'Would you give a partner space when they ask for it, without taking it personally?',
    effects: { 'attachment-anxiety': -0.7, 'emotional-stability': 0.3 },
  },
  {
    id: 340,
    topic: 'interpersonal',
    text: 'Do you like to text throughout the day with someone you are dating?',
    effects: { 'attachment-avoidance': -0.5, 'attachment-anxiety': 0.3 },
  },
  {
    id: 341,
    topic: 'values',
    text: 'Should drug use be treated as a health issue rather than a crime?',
    effects: { 'social-outlook': 0.7 },
  },
  {
    id: 342,
    topic: 'values',
    text: 'Do big corporations have too much power?',
    effects: { 'economic-outlook': -0.7, environmentalism: 0.2 },
  },
  {
    id: 343,
    topic: 'values',
    text: 'Do you celebrate religious holidays mainly for the food, family and fun rather than their meaning?',
    effects: { religiosity: -0.5, 'family-orientation': 0.2 },
  },
  {
    id: 344,
    topic: 'other',
    text: 'Do you try to buy locally grown or produced food?',
    effects: { environmentalism: 0.6, frugality: -0.2 },
  },
  {
    id: 345,
    topic: 'other',
    text: 'Would you rather spend a holiday by the pool than exploring on foot?',
    effects: { 'physical-activity': -0.6, adventurousness: -0.3 },
  },
  {
    id: 346,
    topic: 'other',
    text: 'Do you enjoy board games or pub quizzes?',
    effects: { playfulness: 0.4, 'social-life': 0.3 },
  },
  {
    id: 347,
    topic: 'other',
    text: 'Would you rather rent in a great location than own somewhere further out?',
    effects: { frugality: -0.4, 'social-life': 0.3 },
  },
  {
    id: 348,
    topic: 'interpersonal',
    text: "Do you enjoy meeting a partner's family?",
    effects: { 'family-orientation': 0.5, extraversion: 0.3 },
  },
  {
    id: 349,
    topic: 'interpersonal',
    text: 'Do you think dating apps work best when you treat them like a practical search?',
    effects: { romanticism: -0.5, conscientiousness: 0.2 },
  },
  {
    id: 350,
    topic: 'other',
    text: 'Do you find meeting lots of new people at once exciting?',
    effects: { extraversion: 0.6, 'social-life': 0.2 },
  },
  {
    id: 351,
    topic: 'other',
    text: 'Do you prefer films that are pure entertainment to ones that leave you thinking?',
    effects: { openness: -0.6 },
  },
  {
    id: 352,
    topic: 'other',
    text: 'Do you usually pack the night before a trip, or earlier?',
    effects: { conscientiousness: 0.5 },
  },
  {
    id: 353,
    topic: 'interpersonal',
    text: 'Do you find apologising easy?',
    effects: { agreeableness: 0.5, 'emotional-expressiveness': 0.3 },
  },
  {
    id: 354,
    topic: 'interpersonal',
    text: 'Is it important to you to have time with friends that does not include your partner?',
    effects: { 'attachment-avoidance': 0.4, 'social-life': 0.3 },
  },
  {
    id: 355,
    topic: 'values',
    text: 'Do you think people are too quick to take offence these days?',
    effects: { 'social-outlook': -0.6 },
  },
  {
    id: 356,
    topic: 'values',
    text: 'Should large inheritances be heavily taxed?',
    effects: { 'economic-outlook': -0.8 },
  },
  {
    id: 357,
    topic: 'other',
    text: 'Would you like to live off-grid one day?',
    effects: { environmentalism: 0.5, adventurousness: 0.4, 'social-life': -0.3 },
  },
  {
    id: 358,
    topic: 'interpersonal',
    text: 'Is it important to you that a partner gets along with your friends?',
    effects: { 'social-life': 0.4, 'attachment-avoidance': -0.2 },
  },
  {
    id: 359,
    topic: 'interpersonal',
    text: 'Do you prefer splitting the bill on early dates?',
    effects: { frugality: 0.3, 'social-outlook': 0.3, romanticism: -0.3 },
  },
  {
    id: 360,
    topic: 'other',
    text: 'Do you enjoy learning a new skill just for the fun of it?',
    effects: { openness: 0.6 },
  },
  {
    id: 361,
    topic: 'other',
    text: 'Would you rather tidy up later than let it get in the way of a fun evening?',
    effects: { conscientiousness: -0.5, playfulness: 0.2 },
  },
  {
    id: 362,
    topic: 'interpersonal',
    text: 'Do you keep score of who has done what in a relationship?',
    effects: { agreeableness: -0.5, 'attachment-anxiety': 0.2 },
  },
  {
    id: 363,
    topic: 'interpersonal',
    text: "Should partners know each other's phone passcodes?",
    effects: { 'attachment-anxiety': 0.4, 'attachment-avoidance': -0.4 },
  },
  {
    id: 364,
    topic: 'values',
    text: 'Would you describe yourself as a feminist?',
    effects: { 'social-outlook': 0.7 },
  },
  {
    id: 365,
    topic: 'values',
    text: 'Is the free market the best way to raise living standards?',
    effects: { 'economic-outlook': 0.9 },
  },
  {
    id: 366,
    topic: 'other',
    text: 'Are you learning another language, or would you like to?',
    effects: { openness: 0.5, adventurousness: 0.2 },
  },
  {
    id: 367,
    topic: 'other',
    text: 'Do you like to wipe down the kitchen before you go to bed?',
    effects: { conscientiousness: 0.5 },
  },
  {
    id: 368,
    topic: 'interpersonal',
    text: 'Do you sometimes enjoy seeing an arrogant person taken down a peg?',
    effects: { agreeableness: -0.5, playfulness: 0.2 },
  },
  {
    id: 369,
    topic: 'interpersonal',
    text: 'Would you move in with a partner within the first year of dating?',
    effects: { 'attachment-avoidance': -0.4, adventurousness: 0.3, conscientiousness: -0.2 },
  },
  {
    id: 370,
    topic: 'interpersonal',
    text: 'Should couples share household chores equally?',
    effects: { 'social-outlook': 0.6, agreeableness: 0.2 },
  },
  {
    id: 371,
    topic: 'values',
    text: 'Should rent increases be limited by law?',
    effects: { 'economic-outlook': -0.7 },
  },
  {
    id: 372,
    topic: 'other',
    text: 'Do you like to try a new recipe rather than cook something you know?',
    effects: { openness: 0.5, conscientiousness: -0.2 },
  },
  {
    id: 373,
    topic: 'values',
    text: 'Should military spending be increased?',
    effects: { 'social-outlook': -0.5, 'economic-outlook': 0.2 },
  },
  {
    id: 374,
    topic: 'other',
    text: 'Do you think the old ways of doing things are usually the best?',
    effects: { openness: -0.5, 'social-outlook': -0.5 },
  },
  {
    id: 375,
    topic: 'values',
    text: "Should the state stay out of people's personal choices as much as possible?",
    effects: { 'economic-outlook': 0.4, 'social-outlook': 0.3 },
  },
  {
    id: 376,
    topic: 'other',
    text: 'Do you tend to lose interest in conversations about art or literature?',
    effects: { openness: -0.6 },
  },
  {
    id: 377,
    topic: 'values',
    text: 'Should adults be allowed to own a gun for self-defence?',
    effects: { 'social-outlook': -0.6, 'economic-outlook': 0.3 },
  },
  {
    id: 378,
    topic: 'values',
    text: 'Should religious leaders have a say in public policy?',
    effects: { religiosity: 0.5, 'social-outlook': -0.5 },
  },
  {
    id: 379,
    topic: 'values',
    text: 'Is teaching children to respect authority one of the most important parts of parenting?',
    effects: { 'social-outlook': -0.7, openness: -0.2 },
  },
  {
    id: 380,
    topic: 'values',
    text: 'Do you think older generations generally had a better idea of how to live?',
    effects: { 'social-outlook': -0.6, openness: -0.3 },
  },
  {
    id: 381,
    topic: 'values',
    text: 'Would you join a protest for a cause you believed in?',
    effects: { 'social-outlook': 0.5, assertiveness: 0.3 },
  },
]

export interface PresenceAbsence {
  presenceGivenYes: number[]
  absenceGivenYes: number[]
  presenceGivenNo: number[]
  absenceGivenNo: number[]
}

/**
 * The four per-question vectors (one entry per trait, in `traits` order), derived from
 * `effects`. A "yes" adds w to presence for each weight w > 0 and |w| to absence for w < 0; a "no"
 * does the opposite. A person's trait ratio is presence / (presence + absence) summed over their
 * answers (0.5 when both are 0). Multiply by 1000 and round for integer columns.
 */
export function presenceAbsence(question: Pick<Question, 'effects'>): PresenceAbsence {
  const zeros = (): number[] => traitKeys.map(() => 0)
  const result: PresenceAbsence = {
    presenceGivenYes: zeros(),
    absenceGivenYes: zeros(),
    presenceGivenNo: zeros(),
    absenceGivenNo: zeros(),
  }
  traitKeys.forEach((key, i) => {
    const w = question.effects[key]
    if (w === undefined || w === 0) return
    if (w > 0) {
      result.presenceGivenYes[i] = w
      result.absenceGivenNo[i] = w
    } else {
      result.absenceGivenYes[i] = -w
      result.presenceGivenNo[i] = -w
    }
  })
  return result
}
