/** Time as a dependency, so crons and expiry rules can be tested with a controlled clock. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }

/** A clock that stands still until moved: `fixedClock(new Date('2026-01-01')).advance(60_000)`. */
export function fixedClock(start: Date): Clock & { advance(ms: number): void; set(at: Date): void } {
  let at = start.getTime()
  return {
    now: () => new Date(at),
    advance: (ms) => {
      at += ms
    },
    set: (d) => {
      at = d.getTime()
    },
  }
}
