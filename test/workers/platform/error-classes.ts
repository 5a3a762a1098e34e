import { describe, expect, it } from 'vitest'
import { databaseFailure } from '../../../src/db/errors'
import { describeError } from '../../../src/lib/log'

/** drizzle's wrapper around a driver error: the message lists the statement's parameters. */
function drizzleError(query: string, params: unknown[], cause: Error) {
  return Object.assign(new Error(`Failed query: ${query}\nparams: ${params.join(',')}`), {
    query,
    params,
    cause,
  })
}

const pgError = (code: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name: 'NeonDbError', code, ...extra })

describe('database failures', () => {
  it('classifies data exceptions as invalid input and connection trouble as unavailable', () => {
    const invalid = ['22021', '22P05', '22P02', '22001', '54000']
    for (const code of invalid)
      expect(databaseFailure(drizzleError('select 1', [], pgError(code, 'x'))), code).toBe('invalid_input')
    for (const code of ['08006', '08001', '53300', '57P01']) {
      expect(databaseFailure(pgError(code, 'x')), code).toBe('unavailable')
    }
    const fetchFailed = Object.assign(new Error('Error connecting to database: TypeError: fetch failed'), {
      name: 'NeonDbError',
    })
    expect(databaseFailure(drizzleError('select 1', [], fetchFailed))).toBe('unavailable')
    // A constraint violation is the caller's business (409s), and a bug is a 500.
    expect(databaseFailure(pgError('23505', 'duplicate key'))).toBeUndefined()
    expect(databaseFailure(new TypeError('x is undefined'))).toBeUndefined()
  })

  it('describes a failed statement by SQLSTATE and first words, never its parameters or message', () => {
    const secret = 'my secret chat message'
    const err = drizzleError(
      'insert into "messages" ("member_a", "body") values ($1, $2) returning "seq"',
      ['0b5b9c3e-58a1-4b0e-9f55-1f1c4e0b6a9d', secret],
      pgError('22P02', `invalid input syntax for type uuid: "${secret}"`, {
        table: 'messages',
        column: 'body',
      }),
    )
    const described = describeError(err)
    expect(JSON.stringify(described)).not.toContain(secret)
    expect(described).toMatchObject({ pgCode: '22P02', statement: 'insert into messages', table: 'messages' })
  })
})
