// Type-checked (never run) by test/contract.node.test.ts against the client openapi-typescript
// generates from the served document: a client developer's first program must compile under
// `tsc --strict` with every field typed.
import createClient from 'openapi-fetch'
import type { paths } from './schema'

export async function memberJourney(baseUrl: string, email: string, readCode: () => Promise<string>) {
  const client = createClient<paths>({ baseUrl })

  const challenge = await client.POST('/api/v1/auth/otp', { body: { email } })
  if (!challenge.data) throw new Error(challenge.error.detail)
  const signedIn = await client.POST('/api/v1/auth/otp/verify', {
    body: { challengeId: challenge.data.challengeId, code: await readCode(), client: 'mobile' },
  })
  if (!signedIn.data) throw new Error(`${signedIn.error.code}: ${signedIn.error.detail}`)
  const headers = { Authorization: `Bearer ${signedIn.data.accessToken}` }

  const step = await client.PATCH('/api/v1/onboarding', {
    headers,
    body: {
      name: 'Alex',
      dateOfBirth: '1995-06-15',
      location: 'Berlin, Germany',
      gender: 'non-binary',
      seekingGenders: ['man', 'woman'],
    },
  })
  const missing: string[] = step.data?.missing ?? []
  const finished = await client.POST('/api/v1/onboarding/finish', { headers })
  const slug: string | undefined = finished.data?.urlSlug

  const results = await client.POST('/api/v1/search', { headers })
  const first = results.data?.data[0]
  if (!first) return { missing, slug, sent: null }
  // Exactly as nullable as the server: masked members have no name.
  const name: string | null = first.name
  const requiredLevel: 'none' | 'basics' | 'photos' | null = first.verificationRequiredToView

  const profile = await client.GET('/api/v1/profiles/{idOrSlug}', {
    headers,
    params: { path: { idOrSlug: first.id } },
  })
  // Every profile field is typed, together with the clubs the route adds.
  const clubs: string[] = profile.data?.clubs.map((c) => c.name) ?? []
  const about: string | null | undefined = profile.data?.about

  const sent = await client.POST('/api/v1/conversations/{peerId}/messages', {
    headers,
    params: { path: { peerId: first.id } },
    body: { clientId: crypto.randomUUID(), body: `Hi ${name ?? 'there'}!` },
  })
  if (sent.error) return { missing, slug, sent: sent.error.code, requiredLevel, clubs, about }
  return { missing, slug, sent: sent.data, requiredLevel, clubs, about }
}
