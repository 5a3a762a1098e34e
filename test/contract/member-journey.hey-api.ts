// Type-checked (never run) by test/contract.node.test.ts against the SDK @hey-api/openapi-ts
// generates from the served document: operationIds become the function names.
import { client } from './hey/client.gen'
import {
  finishOnboarding,
  getProfile,
  rebuildSearch,
  requestSignInCode,
  sendMessage,
  updateOnboarding,
  verifySignInCode,
} from './hey/sdk.gen'

export async function memberJourney(baseUrl: string, email: string, code: string) {
  client.setConfig({ baseUrl })
  const challenge = await requestSignInCode({ body: { email } })
  if (!challenge.data) throw new Error('no challenge')
  const signedIn = await verifySignInCode({
    body: { challengeId: challenge.data.challengeId, code, client: 'mobile' },
  })
  if (!signedIn.data) throw new Error('not signed in')
  const headers = { Authorization: `Bearer ${signedIn.data.accessToken}` }
  await updateOnboarding({
    headers,
    body: {
      name: 'Alex',
      dateOfBirth: '1995-06-15',
      location: 'Berlin, Germany',
      gender: 'woman',
      seekingGenders: ['man'],
    },
  })
  const finished = await finishOnboarding({ headers })
  const results = await rebuildSearch({ headers })
  const first = results.data?.data[0]
  if (!first) return finished.data?.urlSlug
  const profile = await getProfile({ headers, path: { idOrSlug: first.id } })
  const age: number | null | undefined = profile.data?.age
  const sent = await sendMessage({
    headers,
    path: { peerId: first.id },
    body: { clientId: crypto.randomUUID(), body: 'Hi!' },
  })
  return { age, seq: sent.data }
}
