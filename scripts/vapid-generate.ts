/**
 * Print a fresh VAPID key pair (RFC 8292) for Web Push, as the Worker reads them:
 * VAPID_PUBLIC_KEY (65-byte uncompressed P-256 point) and VAPID_PRIVATE_KEY (32-byte scalar),
 * both base64url. Put the private key in a secret (`wrangler secret put VAPID_PRIVATE_KEY`);
 * the public key is what browsers subscribe with. Changing the pair orphans every existing
 * browser subscription (push services refuse a different key), so generate it once.
 *
 * `npm run vapid:generate` (add `-- --json` for machine-readable output).
 */
import { parseArgs } from 'node:util'

export async function generateVapidKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair
  const jwk = await crypto.subtle.exportKey('jwk', pair.privateKey)
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x!, 'base64url'),
    Buffer.from(jwk.y!, 'base64url'),
  ])
  return { publicKey: point.toString('base64url'), privateKey: jwk.d! }
}

if (process.argv[1]?.endsWith('vapid-generate.ts')) {
  const { values } = parseArgs({ options: { json: { type: 'boolean', default: false } } })
  const keys = await generateVapidKeys()
  if (values.json) console.log(JSON.stringify(keys))
  else console.log(`VAPID_PUBLIC_KEY=${keys.publicKey}\nVAPID_PRIVATE_KEY=${keys.privateKey}`)
}
