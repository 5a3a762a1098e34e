import type pg from 'pg'
import { answerSumsSql, personalityVector } from '../src/services/personality/maths'
import { personalityDataVersion, presenceAbsence, questions, traits } from './personality-data'

/**
 * Marks which version of the question bank the tables hold, as the `questions` table's comment
 * (as scripts/seed-places.ts does for places): one small query decides that nothing needs doing.
 */
const commentPrefix = 'Personality data: '

/** Members whose vectors are recomputed per UPDATE when the bank changes. */
const recomputeBatch = 2000

/**
 * Recompute the presence/absence sums, answer count and vector of every member who has answers,
 * after the bank's weights changed (docs/personality.md §8). Runs inside the caller's transaction.
 */
async function recomputeAll(client: pg.Client): Promise<number> {
  const { rows: members } = await client.query<{ user_id: string }>(
    'select distinct user_id from answers where answer is not null order by user_id',
  )
  const ids = members.map((m) => m.user_id)
  for (let start = 0; start < ids.length; start += recomputeBatch) {
    const batch = ids.slice(start, start + recomputeBatch)
    const { rows } = await client.query<{ user_id: string; pos: number; presence: number; absence: number }>(
      `${answerSumsSql.head}$1::uuid[]${answerSumsSql.tail}`,
      [batch],
    )
    const counts = await client.query<{ user_id: string; n: number }>(
      `select user_id, count(*)::int as n from answers
       where answer is not null and user_id = any($1::uuid[]) group by user_id`,
      [batch],
    )
    const n = new Map(counts.rows.map((r) => [r.user_id, r.n]))
    const sums = new Map<string, { presence: number[]; absence: number[] }>()
    for (const row of rows) {
      const entry = sums.get(row.user_id) ?? { presence: [], absence: [] }
      entry.presence[row.pos - 1] = row.presence
      entry.absence[row.pos - 1] = row.absence
      sums.set(row.user_id, entry)
    }
    const updates = [...sums].map(([userId, { presence, absence }]) => ({
      user_id: userId,
      presence_score: presence,
      absence_score: absence,
      answer_count: n.get(userId) ?? 0,
      personality: personalityVector(presence, absence, n.get(userId) ?? 0),
    }))
    await client.query(
      `update profiles p set personality = x.personality, presence_score = x.presence_score,
         absence_score = x.absence_score, answer_count = x.answer_count
       from jsonb_to_recordset($1::jsonb) as x(user_id uuid, personality real[], presence_score real[],
         absence_score real[], answer_count int)
       where p.user_id = x.user_id`,
      [JSON.stringify(updates)],
    )
  }
  return ids.length
}

/**
 * Bring `traits` and `questions` in line with scripts/personality-data.ts, in one transaction.
 * Skipped (one small query) when the tables already hold this `personalityDataVersion`. Otherwise
 * traits and questions are upserted by position/id (answer counts are kept), questions no longer
 * in the bank are deleted unless someone answered them, and every member's vector is recomputed,
 * since changed weights change what their answers mean.
 *
 * @example
 * const { questions, loaded } = await syncPersonality(client) // { questions: 381, loaded: true, … }
 */
export async function syncPersonality(
  client: pg.Client,
  opts: { force?: boolean } = {},
): Promise<{ questions: number; loaded: boolean; recomputed: number; version: string }> {
  const version = personalityDataVersion
  await client.query('begin')
  try {
    // Two migrators racing on one database load once: the second waits here, then sees the comment.
    await client.query('lock table questions in share row exclusive mode')
    const current = await client.query<{ comment: string | null; n: number }>(
      `select obj_description('questions'::regclass, 'pg_class') as comment, (select count(*)::int from questions) as n`,
    )
    const { comment, n } = current.rows[0]!
    if (!opts.force && n > 0 && comment === commentPrefix + version) {
      await client.query('commit')
      return { questions: n, loaded: false, recomputed: 0, version }
    }

    await client.query(
      `insert into traits (position, key, name, min_label, max_label, description, topic)
       select * from jsonb_to_recordset($1::jsonb) as x(position smallint, key text, name text,
         min_label text, max_label text, description text, topic text)
       on conflict (position) do update set key = excluded.key, name = excluded.name,
         min_label = excluded.min_label, max_label = excluded.max_label,
         description = excluded.description, topic = excluded.topic`,
      [
        JSON.stringify(
          traits.map((t, position) => ({
            position,
            key: t.key,
            name: t.name,
            min_label: t.minLabel,
            max_label: t.maxLabel,
            description: t.description,
            topic: t.topic,
          })),
        ),
      ],
    )
    const rows = questions.map((q) => {
      const pa = presenceAbsence(q)
      return {
        id: q.id,
        text: q.text,
        topic: q.topic,
        presence_given_yes: pa.presenceGivenYes,
        absence_given_yes: pa.absenceGivenYes,
        presence_given_no: pa.presenceGivenNo,
        absence_given_no: pa.absenceGivenNo,
        retired: q.retired === true,
      }
    })
    await client.query(
      `insert into questions (id, text, topic, presence_given_yes, absence_given_yes, presence_given_no,
         absence_given_no, retired)
       select * from jsonb_to_recordset($1::jsonb) as x(id smallint, text text, topic text,
         presence_given_yes real[], absence_given_yes real[], presence_given_no real[],
         absence_given_no real[], retired boolean)
       on conflict (id) do update set text = excluded.text, topic = excluded.topic,
         presence_given_yes = excluded.presence_given_yes, absence_given_yes = excluded.absence_given_yes,
         presence_given_no = excluded.presence_given_no, absence_given_no = excluded.absence_given_no,
         retired = excluded.retired`,
      [JSON.stringify(rows)],
    )
    // The bank never drops a question (docs/personality.md §8); should one go anyway, stored
    // answers keep it.
    await client.query(
      `delete from questions q where not (q.id = any($1::smallint[]))
         and not exists (select 1 from answers a where a.question_id = q.id)`,
      [rows.map((r) => r.id)],
    )
    const recomputed = await recomputeAll(client)
    await client.query(`comment on table questions is ${client.escapeLiteral(commentPrefix + version)}`)
    const total = await client.query<{ n: number }>('select count(*)::int as n from questions')
    await client.query('commit')
    return { questions: total.rows[0]!.n, loaded: true, recomputed, version }
  } catch (err) {
    await client.query('rollback')
    throw err
  }
}
