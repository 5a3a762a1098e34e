import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * A loopback TCP port that is free now, for a server that will listen on it a little later (a
 * stand-in whose address `wrangler dev` must be given before it starts).
 *
 * A port the kernel hands out for `listen(0)` comes from the ephemeral range, the same range it
 * takes source ports from for outgoing connections and other processes' `listen(0)`. Freed and
 * not yet listened on again, such a port can be taken by any of those in between, and a busy
 * test run does take one now and then (EADDRINUSE when the stand-in starts). So the port is drawn
 * at random from below the ephemeral range, where the kernel never assigns on its own, and kept
 * only if it can be bound now.
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow] = ephemeralRange()
  const low = 10_000
  const high = Math.max(low + 1_000, ephemeralLow - 1)
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1))
    if (await portIsFree(port)) return port
  }
  throw new Error(`no free port between ${low} and ${high} after 50 tries`)
}

/** The kernel's ephemeral port range (Linux), or the IANA one elsewhere. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
    if (low && high) return [low, high]
  } catch {
    // Not Linux: fall through.
  }
  return [49_152, 65_535]
}

/** Whether a server could listen on loopback `port` now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
      .once('error', () => resolve(false))
      .listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}
