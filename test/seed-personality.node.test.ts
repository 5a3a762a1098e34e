import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { personalityVector } from '../src/services/personality/maths'
import { applyMigrations } from '../scripts/migrate'
import { personalityDataVersion, presenceAbsence, questions, traits } from '../scripts/personality-data'
import { syncPersonality } from '../scripts/seed-personality'

const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = `rapport_personality_${randomBytes(4).toString('hex')}`
const databaseUrl = Object.assign(new URL(adminUrl), { pathname: `/${dbName}` }).toString()
const admin = new pg.Client({ connectionString: adminUrl })
const db = new pg.Client({ connectionString: databaseUrl })

beforeAll(async () => {
  await admin.connect()
  await admin.query(`create database ${dbName}`)
  await applyMigrations(databaseUrl)
  await db.connect()
})

afterAll(async () => {
  await db.end()
  await admin.query(`drop database if exists ${dbName} with (force)`)
  await admin.end()
})

const zeros = `array[${traits.map(() => 0).join(',')}]::real[]`

describe('personality data sync', () => {
  it('loads the bank once, marked with its version', async () => {
    const { rows } = await db.query<{ n: number; comment: string; traits: number }>(
      `select count(*)::int as n, obj_description('questions'::regclass, 'pg_class') as comment,
         (select count(*)::int from traits) as traits from questions`,
    )
    expect(rows[0]).toEqual({
      n: questions.length,
      comment: `Personality data: ${personalityDataVersion}`,
      traits: traits.length,
    })
    const q = questions[0]!
    const stored = await db.query('select * from questions where id = $1', [q.id])
    const pa = presenceAbsence(q)
    expect(stored.rows[0]).toMatchObject({
      text: q.text,
      topic: q.topic,
      presence_given_yes: pa.presenceGivenYes,
      absence_given_no: pa.absenceGivenNo,
      retired: false,
    })
    const again = await syncPersonality(db)
    expect(again).toMatchObject({ loaded: false, questions: questions.length })
  })

  it('on a reload, restores edited rows, recomputes vectors and keeps answered questions', async () => {
    const { rows } = await db.query<{ id: string }>(
      `insert into users (email, email_display, status) values ('p@example.org', 'p@example.org', 'active') returning id`,
    )
    const userId = rows[0]!.id
    await db.query('insert into profiles (user_id, personality) values ($1, $2)', [userId, [9, 9]])
    await db.query(
      `insert into questions (id, text, topic, presence_given_yes, absence_given_yes, presence_given_no, absence_given_no)
       values (30001, 'Gone but answered?', 'other', ${zeros}, ${zeros}, ${zeros}, ${zeros}),
              (30002, 'Gone and unanswered?', 'other', ${zeros}, ${zeros}, ${zeros}, ${zeros})`,
    )
    await db.query(`update questions set text = 'edited', presence_given_yes = ${zeros} where id = 1`)
    await db.query(
      `insert into answers (user_id, question_id, answer) values ($1, 1, true), ($1, 2, false), ($1, 30001, true)`,
      [userId],
    )
    expect((await db.query('select count_yes from questions where id = 1')).rows[0].count_yes).toBe(1)

    const result = await syncPersonality(db, { force: true })
    expect(result).toMatchObject({ loaded: true, recomputed: 1, questions: questions.length + 1 })
    const ids = (await db.query<{ id: number }>('select id from questions where id > 30000')).rows.map(
      (r) => r.id,
    )
    expect(ids).toEqual([30001])
    const q1 = (await db.query('select text, count_yes from questions where id = 1')).rows[0]
    expect(q1).toEqual({ text: questions[0]!.text, count_yes: 1 })

    const presence = traits.map(() => 0)
    const absence = traits.map(() => 0)
    const one = presenceAbsence(questions[0]!)
    const two = presenceAbsence(questions[1]!)
    one.presenceGivenYes.forEach((x, i) => (presence[i]! += x))
    one.absenceGivenYes.forEach((x, i) => (absence[i]! += x))
    two.presenceGivenNo.forEach((x, i) => (presence[i]! += x))
    two.absenceGivenNo.forEach((x, i) => (absence[i]! += x))
    const profile = (await db.query('select * from profiles where user_id = $1', [userId])).rows[0]
    expect(profile.answer_count).toBe(3)
    const expected = personalityVector(presence, absence, 3)
    expect(profile.personality).toHaveLength(traits.length + 1)
    ;(profile.personality as number[]).forEach((x, i) => expect(x).toBeCloseTo(expected[i]!, 5))

    // Deleting the account uncounts its answers (the trigger sees cascades too).
    await db.query('delete from users where id = $1', [userId])
    expect((await db.query('select count_yes from questions where id = 1')).rows[0].count_yes).toBe(0)
  })
})
