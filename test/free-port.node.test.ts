import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort } from '../scripts/free-port'

const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
  .trim()
  .split(/\s+/)
  .map(Number) as [number]

describe('freePort', () => {
  it('gives a bindable loopback port below the range the kernel assigns on its own', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()))
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000)
      expect(port).toBeLessThan(ephemeralLow)
    }
    // Free now: a server can listen on it.
    const server = createServer()
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen(ports[0], '127.0.0.1', resolve),
    )
    await new Promise((resolve) => server.close(resolve))
  })

  it('passes over a port that is taken', async () => {
    const taken = createServer()
    const port = await freePort()
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve))
    const original = Math.random
    // The first draw lands on the taken port, the next one anywhere else.
    let draws = 0
    Math.random = () => (draws++ === 0 ? (port - 10_000 + 0.5) / (ephemeralLow - 10_000) : original())
    try {
      expect(await freePort()).not.toBe(port)
    } finally {
      Math.random = original
      await new Promise((resolve) => taken.close(resolve))
    }
    expect(draws).toBeGreaterThan(1)
  })
})
