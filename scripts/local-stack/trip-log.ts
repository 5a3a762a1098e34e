import { performance } from 'node:perf_hooks'

/**
 * Accounting of what one client asks of a stand-in, kept under a tag the client puts in the URL it is given
 * (`…/__tag/<tag>/…`). Tests and benches use it to pin what a request costs in round trips: on the edge, a
 * Worker may run 20–80 ms from Neon and Upstash, so the number of sequential round trips decides a route's
 * latency far more than the work done at either end.
 *
 * A round trip is recorded as a span on this process's clock (`performance.now()`), from when the stand-in
 * sees the request until its answer leaves. Spans that overlap were in flight together — the client did not wait
 * for one before sending the other — so they count as one sequential round trip.
 */

/** `[start, end]` in milliseconds on this process's `performance.now()` clock. */
export type Span = [number, number]

export interface TripCounts {
  /** HTTP requests, plus WebSocket connections on the Neon stand-in. */
  requests: number
  /** Redis commands (Upstash) or SQL statements (Neon), each one inside a pipeline or batch counted. */
  units: number
  /** Rows returned (Neon only; 0 on Upstash). */
  rows: number
  /** Sequential round trips: the spans after merging those that overlap. */
  roundTrips: number
  spans: Span[]
}

/** The tag grammar both stand-ins accept in `/__tag/<tag>`. */
export const TAG_PATTERN = /^\/__tag\/([\w-]{1,64})(?=[/?]|$)/
/** `GET /__stats/<tag>`. */
export const STATS_PATTERN = /^\/__stats\/([\w-]{1,64})$/

/** One tag's running totals. Spans beyond this many are not kept (a bench loop must not grow memory forever). */
const MAX_SPANS = 100_000

export class TripAccount {
  requests = 0
  units = 0
  rows = 0
  private readonly spans: Span[] = []

  /** Starts a round trip now; call the returned function when its answer has left. */
  begin(): () => void {
    const start = performance.now()
    let ended = false
    return () => {
      if (ended) return
      ended = true
      if (this.spans.length < MAX_SPANS) this.spans.push([start, performance.now()])
    }
  }

  snapshot(): TripCounts {
    const spans = this.spans.map(([s, e]): Span => [s, e])
    return {
      requests: this.requests,
      units: this.units,
      rows: this.rows,
      roundTrips: sequentialTrips(spans),
      spans,
    }
  }
}

/** Accounts by tag, plus the untagged total of everything the stand-in served. */
export class TripLedger {
  readonly total = new TripAccount()
  private readonly tags = new Map<string, TripAccount>()

  /** The account of `tag`, created on first use. */
  account(tag: string): TripAccount {
    let account = this.tags.get(tag)
    if (!account) this.tags.set(tag, (account = new TripAccount()))
    return account
  }

  /** Counts of `tag`, or zeros for a tag never seen. */
  counts(tag: string): TripCounts {
    return (this.tags.get(tag) ?? new TripAccount()).snapshot()
  }
}

/**
 * How many round trips a client made one after another: spans sorted by start, merged while they overlap,
 * and the groups counted. Two statements sent together in `Promise.all` give one; a statement sent after the
 * previous one's answer gives two.
 */
export function sequentialTrips(spans: readonly Span[]): number {
  const sorted = [...spans].sort((a, b) => a[0] - b[0])
  let groups = 0
  let end = Number.NEGATIVE_INFINITY
  for (const [start, finish] of sorted) {
    if (start > end) groups++
    end = Math.max(end, finish)
  }
  return groups
}
