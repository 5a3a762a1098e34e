/**
 * Reply values of the in-process Redis (scripts/embedded/memory-redis.ts), shared with its Lua bridge. They model
 * RESP2: a status reply must stay distinguishable from a bulk string because Lua sees `{ok = "OK"}` for one and a
 * plain string for the other.
 */

/** A Redis error reply. The message starts with the error code, as Redis and ioredis word it ("ERR …"). */
export class ReplyError extends Error {
  override name = 'ReplyError'
}

/** A RESP2 simple-string reply such as OK or PONG. */
export class StatusReply {
  constructor(readonly status: string) {}
}

export const OK = new StatusReply('OK')

export type Reply = string | number | null | StatusReply | ReplyError | Reply[]

/**
 * A double as Redis 7.0 prints it in replies (ZSCORE, WITHSCORES) and in Lua number arguments: C's "%.17g", so
 * 0.1 is "0.10000000000000001", 3 is "3" and 1e20 is "1e+20".
 */
export function formatDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan'
  if (value === Infinity) return 'inf'
  if (value === -Infinity) return '-inf'
  if (value === 0) return Object.is(value, -0) ? '-0' : '0'
  const [mantissa = '0', exponentText = '0'] = value.toExponential(16).split('e')
  const exponent = Number(exponentText)
  if (exponent < -4 || exponent >= 17) {
    const digits = trimFraction(mantissa)
    const sign = exponent < 0 ? '-' : '+'
    return `${digits}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`
  }
  return trimFraction(value.toFixed(16 - exponent))
}

/**
 * A double as INCRBYFLOAT/HINCRBYFLOAT print it. Redis computes in long double and prints "%.17Lf" without trailing
 * zeros, so 0.1 + 0.2 is "0.3"; rounding the double to 15 significant digits reproduces that for ordinary values.
 */
export function formatIncrFloat(value: number): string {
  const rounded = Number(value.toPrecision(15))
  if (Number.isInteger(rounded) && Math.abs(rounded) < 1e21) return BigInt(rounded).toString()
  const text = String(rounded)
  // "%.17Lf" never uses an exponent: tiny values print as decimals (or as 0 below 1e-17).
  return text.includes('e') ? trimFraction(rounded.toFixed(17)) || '0' : text
}

function trimFraction(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text
}
