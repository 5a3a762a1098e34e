import { randomBytes, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import pg from 'pg'
import { applyMigrations } from '../scripts/migrate'

/**
 * `npm run bench:chat-sql`: what PostgreSQL spends on the chat path's statements, one at a time,
 * on one connection, measured as the CPU of the backend serving it (/proc/<pid>/stat, so the
 * server must run on this machine) and as wall time seen by the client. It tells the cost of a
 * message at the database apart from everything `bench:chat` measures around it (sockets,
 * workerd, the Neon stand-in, the clients).
 *
 * A fresh database on TEST_PG_URL's server (default postgres://postgres@127.0.0.1:5432/postgres)
 * with every migration, 100 pairs of members who have written to each other; dropped afterwards.
 * Each case runs `BENCH_SQL_CALLS` times (default 4000) after 200 unmeasured calls, and the whole
 * list runs twice (`BENCH_SQL_ROUNDS`), so every figure has a twin from the same run and ratios
 * between cases are same-run ratios. The cases, cheapest first:
 *
 * - `select $1` — one statement's floor (the extended protocol, as Neon runs every statement);
 * - a PL/pgSQL function that does nothing — a function call's floor;
 * - the pair facts as the statement the Conversation object sent before migration 0023 (planned
 *   on every call) and as that migration's function (`chat_pair_facts`, planned once per
 *   connection), on short conversations and on one of 2,000 messages (the statement read every
 *   message of the conversation; the function's cost must not grow with it);
 * - the write built up: the conversation's sequence upsert with its commit; plus the message row;
 *   the whole `chat_write_message` (plus both inbox entries); `chat_reply` (a reply after a pause:
 *   the pair facts and the write in one call); and `chat_write_messages` with six replies, per
 *   message.
 *
 *   npm run bench:chat-sql
 */

const calls = Number(process.env.BENCH_SQL_CALLS ?? 4000)
const rounds = Number(process.env.BENCH_SQL_ROUNDS ?? 2)
const warmUp = 200
const pairs = 100
const batch = 6
/** Messages in the one long conversation (the pair facts' cost must not grow with it). */
const longConversation = 2000

/** CPU milliseconds a process has used (user + system; the kernel counts in 1/100 s). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

/**
 * The pair facts query as it was sent before migration 0023 (see that migration): the same rows,
 * parsed and planned on every call.
 */
const inlineFacts = `
  select u.id, u.role, u.tier_id,
    (u.status = 'active' and u.deleted_at is null and p.onboarded_at is not null) as live,
    (extract(epoch from u.created_at) * 1000)::float8 as created_ms,
    coalesce(p.verification_level::text, 'none') as level,
    coalesce(p.verification_required, false) as verification_required,
    (p.shadow_banned_at is not null) as shadow_banned,
    exists (select 1 from messaged m where m.subject_id = u.id
      and m.object_id = case when u.id = $1::uuid then $2::uuid else $1::uuid end) as messaged,
    case when exists (select 1 from messages g where g.member_a = $1::uuid and g.member_b = $2::uuid
        and g.sender_id = u.id and g.hidden_from_recipient = false) then true
      else not exists (select 1 from messages g where g.member_a = $1::uuid and g.member_b = $2::uuid
        and g.sender_id = u.id and g.hidden_from_recipient = true) end as visible_or_none,
    exists (select 1 from skips k where (k.subject_id = $1::uuid and k.object_id = $2::uuid)
      or (k.subject_id = $2::uuid and k.object_id = $1::uuid)) as skipped
  from users u left join profiles p on p.user_id = u.id
  where u.id in ($1::uuid, $2::uuid)`

/** The write's first steps as functions of their own, to price each step (bench only). */
const partialWrites = `
  create function bench_noop(a uuid, b uuid) returns int language plpgsql as $$ begin return 1; end $$;
  create function bench_sequence(a uuid, b uuid) returns bigint language plpgsql as $$
  declare s bigint;
  begin
    insert into conversations as c (member_a, member_b, last_seq, created_at) values (a, b, 1, now())
    on conflict (member_a, member_b) do update set last_seq = c.last_seq + 1 returning c.last_seq into s;
    return s;
  end $$;
  create function bench_sequence_and_row(a uuid, b uuid, sender uuid, client_id text) returns bigint
  language plpgsql as $$
  declare s bigint;
  begin
    insert into conversations as c (member_a, member_b, last_seq, created_at) values (a, b, 1, now())
    on conflict (member_a, member_b) do update set last_seq = c.last_seq + 1 returning c.last_seq into s;
    insert into messages (member_a, member_b, seq, sender_id, client_id, body, is_intro,
      hidden_from_recipient, created_at)
    values (a, b, s, sender, client_id, 'and what did you make of it?', false, false, now());
    return s;
  end $$;`

interface Case {
  name: string
  /** Messages one call stores (per-message figures divide by it). */
  messages?: number
  /** `pair` changes with every call; `long` is the one conversation of {@link longConversation} messages. */
  run(c: pg.Client, pair: [string, string], k: number, long: [string, string]): Promise<unknown>
}

const body = 'and what did you make of it?'

const cases: Case[] = [
  { name: 'select $1 (a statement’s floor)', run: (c) => c.query({ text: 'select $1::int', values: [1] }) },
  {
    name: 'PL/pgSQL call doing nothing',
    run: (c, [a, b]) => c.query({ text: 'select bench_noop($1::uuid, $2::uuid)', values: [a, b] }),
  },
  {
    name: 'pair facts, planned per call (before 0023)',
    run: (c, pair) => c.query({ text: inlineFacts, values: pair }),
  },
  {
    name: 'pair facts, chat_pair_facts (0023)',
    run: (c, pair) => c.query({ text: 'select * from chat_pair_facts($1::uuid, $2::uuid)', values: pair }),
  },
  {
    name: `pair facts, planned per call, a ${longConversation}-message conversation`,
    run: (c, _pair, _k, long) => c.query({ text: inlineFacts, values: long }),
  },
  {
    name: `pair facts, chat_pair_facts, a ${longConversation}-message conversation`,
    run: (c, _pair, _k, long) =>
      c.query({ text: 'select * from chat_pair_facts($1::uuid, $2::uuid)', values: long }),
  },
  {
    name: 'sequence upsert + commit',
    run: (c, pair) => c.query({ text: 'select bench_sequence($1::uuid, $2::uuid)', values: pair }),
  },
  {
    name: '… + message row',
    run: (c, [a, b], k) =>
      c.query({
        text: 'select bench_sequence_and_row($1::uuid, $2::uuid, $3::uuid, $4::text)',
        values: [a, b, k % 2 ? a : b, randomUUID()],
      }),
  },
  {
    name: 'chat_write_message (… + both inbox entries)',
    run: (c, [a, b], k) => {
      const [sender, recipient] = k % 2 ? [a, b] : [b, a]
      return c.query({
        text: `select * from chat_write_message($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text, $6::text,
          null, false, false, now(), false)`,
        values: [a, b, sender, recipient, randomUUID(), body],
      })
    },
  },
  {
    name: 'chat_reply (pair facts and the write, one call)',
    run: (c, [a, b], k) =>
      c.query({
        text: `select * from chat_reply($1::uuid, $2::uuid, $3::uuid, $4::text, $5::text, null, now())`,
        values: [a, b, k % 2 ? a : b, randomUUID(), body],
      }),
  },
  {
    name: `chat_write_messages, ${batch} replies (per message)`,
    messages: batch,
    run: (c, [a, b]) => {
      const senders = Array.from({ length: batch }, (_, j) => (j % 2 ? a : b))
      return c.query({
        text: `select * from chat_write_messages($1::uuid, $2::uuid, $3::uuid[], $4::text[], $5::text[],
          $6::text[], $7::boolean[], now())`,
        values: [
          a,
          b,
          senders,
          senders.map(() => randomUUID()),
          senders.map(() => body),
          senders.map(() => null),
          senders.map(() => false),
        ],
      })
    },
  },
]

/** Onboarded profiles for members (the pair facts count only onboarded members as live). */
async function onboard(client: pg.Client, ids: string[]) {
  await client.query(
    `insert into profiles (user_id, url_slug, date_of_birth, place_id, latitude, longitude, gender,
       seeking_genders, onboarded_at)
     select t.id, 'chat-sql-' || t.id, '1994-05-17', p.id, p.latitude, p.longitude, 'woman',
       array['man', 'woman']::gender[], now()
     from unnest($1::uuid[]) as t(id),
       (select id, latitude, longitude from places order by population desc nulls last limit 1) p`,
    [ids],
  )
}

const percentile = (sorted: number[], p: number) => sorted[Math.floor((p / 100) * (sorted.length - 1))]!

async function bench() {
  const adminUrl = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const name = `rapport_chat_sql_${process.pid}_${randomBytes(3).toString('hex')}`
  const url = Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString()
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const client = new pg.Client({ connectionString: url })
  try {
    await applyMigrations(url)
    await client.connect()
    await client.query(partialWrites)
    const ids = Array.from({ length: pairs * 2 }, () => randomUUID())
    await client.query(
      `insert into users (id, email, email_display, name, status)
       select id, id || '@example.com', id || '@example.com', 'Member', 'active' from unnest($1::uuid[]) id`,
      [ids],
    )
    await onboard(client, ids)
    const pairOf = (k: number): [string, string] => {
      const [x, y] = [ids[2 * (k % pairs)]!, ids[2 * (k % pairs) + 1]!]
      return x < y ? [x, y] : [y, x]
    }
    // Each pair's first messages (the `messaged` rows), so what follows are replies.
    for (let i = 0; i < pairs; i++) {
      const [a, b] = pairOf(i)
      for (const [sender, recipient] of [
        [a, b],
        [b, a],
      ]) {
        await client.query(
          `select * from chat_write_message($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::text, 'hi', null,
            true, false, now(), true)`,
          [a, b, sender, recipient, randomUUID()],
        )
      }
    }
    // One long conversation of its own: both members' messages, numbered on, as replies are stored.
    const long: [string, string] = [randomUUID(), randomUUID()].sort() as [string, string]
    await client.query(
      `insert into users (id, email, email_display, name, status)
       select id, id || '@example.com', id || '@example.com', 'Member', 'active' from unnest($1::uuid[]) id`,
      [long],
    )
    await onboard(client, long)
    await client.query(
      `with c as (insert into conversations (member_a, member_b, last_seq, created_at)
         values ($1, $2, $3, now()) returning member_a, member_b)
       insert into messages (member_a, member_b, seq, sender_id, client_id, body, is_intro,
         hidden_from_recipient, created_at)
       select c.member_a, c.member_b, n, case when n % 2 = 0 then c.member_a else c.member_b end,
         'c' || n, $4, n <= 2, false, now()
       from c, generate_series(1, $3::int) n`,
      [long[0], long[1], longConversation, body],
    )
    await client.query(
      `insert into messaged (subject_id, object_id, created_at) values ($1, $2, now()), ($2, $1, now())`,
      long,
    )
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid')
    const pid = rows[0]!.pid
    console.log(
      `${calls} calls per case after ${warmUp} unmeasured, ${rounds} rounds; one connection; ` +
        `load average ${loadavg()[0]!.toFixed(2)}\n`,
    )
    console.log('| case | round | PostgreSQL CPU ms per call | per message | wall p50 / p99 ms |')
    console.log('|---|---:|---:|---:|---:|')
    for (let round = 1; round <= rounds; round++) {
      for (const c of cases) {
        for (let k = 0; k < warmUp; k++) await c.run(client, pairOf(k), k, long)
        const wall: number[] = []
        const before = cpuMs(pid)
        for (let k = 0; k < calls; k++) {
          const t = performance.now()
          await c.run(client, pairOf(k), k, long)
          wall.push(performance.now() - t)
        }
        const perCall = (cpuMs(pid) - before) / calls
        wall.sort((x, y) => x - y)
        console.log(
          `| ${c.name} | ${round} | ${perCall.toFixed(3)} | ${(perCall / (c.messages ?? 1)).toFixed(3)} | ` +
            `${percentile(wall, 50).toFixed(2)} / ${percentile(wall, 99).toFixed(2)} |`,
        )
      }
    }
    console.log(`\nload average at the end ${loadavg()[0]!.toFixed(2)}`)
  } finally {
    await client.end().catch(() => {})
    await admin.query(`drop database if exists ${name} with (force)`).catch(() => {})
    await admin.end()
  }
}

bench().catch((err: unknown) => {
  console.error('[bench] failed:', err instanceof Error ? err.message : err)
  process.exitCode = 1
})
