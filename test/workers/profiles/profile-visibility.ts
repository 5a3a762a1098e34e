import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { messaged, profiles, skips, users } from '../../../src/db/schema'
import { call, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()

const view = (idOrSlug: string, token?: string) => call('GET', `/api/v1/profiles/${idOrSlug}`, token)

async function expectHidden(res: Response) {
  expect(res.status).toBe(404)
  expect((await problem(res)).code).toBe('not_found')
}

describe("another member's profile", () => {
  it('is found by id and by slug, with what the member shows', async () => {
    const alex = await member({ name: 'Alex', profile: { occupation: 'Pilot', lookingFor: 'friends' } })
    const viewer = await member()
    for (const key of [alex.id, alex.profile.urlSlug!, alex.profile.urlSlug!.toUpperCase()]) {
      const res = await view(key, viewer.token)
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('private, no-store')
      expect(await res.json()).toMatchObject({
        id: alex.id,
        name: 'Alex',
        occupation: 'Pilot',
        lookingFor: 'friends',
        location: alex.place.shortLabel,
        age: expect.any(Number),
        isSelf: false,
        photos: [],
      })
    }
  })

  it('hides age, location and "looking for" when the member does', async () => {
    const shy = await member({
      profile: { showMyAge: false, showMyLocation: false, showMyLookingFor: false, lookingFor: 'marriage' },
    })
    const viewer = await member()
    const body = await (await view(shy.id, viewer.token)).json()
    expect(body).toMatchObject({ age: null, location: null, lookingFor: null })
    const own = await (await view(shy.id, shy.token)).json()
    expect(own).toMatchObject({ age: expect.any(Number), lookingFor: 'marriage', isSelf: true })
  })

  it('answers 404 for unknown ids and slugs', async () => {
    const viewer = await member()
    await expectHidden(await view(crypto.randomUUID(), viewer.token))
    await expectHidden(await view('nobody-by-this-name', viewer.token))
  })

  it('is shown to anonymous visitors only when public', async () => {
    const open = await member({ profile: { publicProfile: true } })
    const closed = await member()
    expect((await view(open.profile.urlSlug!)).status).toBe(200)
    await expectHidden(await view(closed.profile.urlSlug!))
    await expectHidden(await view(closed.id))
  })

  it('is hidden from anonymous visitors when it hides from strangers or asks for verification', async () => {
    const hiding = await member({ profile: { publicProfile: true, hideMeFromStrangers: true } })
    const careful = await member({ profile: { publicProfile: true, privacyVerificationLevel: 'basics' } })
    await expectHidden(await view(hiding.id))
    await expectHidden(await view(careful.profile.urlSlug!))
  })

  it('is refused when the member is deactivated or deleted, but not to themself', async () => {
    const viewer = await member()
    const away = await member({ user: { status: 'deactivated', deactivatedAt: new Date() } })
    await expectHidden(await view(away.id, viewer.token))
    expect((await view(away.id, away.token)).status).toBe(200)

    const gone = await member({ profile: { publicProfile: true } })
    await s.database.db.update(users).set({ deletedAt: new Date() }).where(eq(users.id, gone.id))
    await expectHidden(await view(gone.id, viewer.token))
    await expectHidden(await view(gone.id))
  })

  it('stays reachable by direct link when shadow-banned', async () => {
    const banned = await member({ profile: { shadowBannedAt: new Date() } })
    const viewer = await member()
    expect((await view(banned.id, viewer.token)).status).toBe(200)
  })

  it('is hidden from someone the member skipped, not from the skipper', async () => {
    const skipper = await member()
    const skipped = await member()
    await s.database.db.insert(skips).values({ subjectId: skipper.id, objectId: skipped.id })
    await expectHidden(await view(skipper.id, skipped.token))
    expect((await view(skipped.id, skipper.token)).status).toBe(200)
  })

  it('hides a member hiding from strangers until they have messaged the viewer', async () => {
    const hidden = await member({ profile: { hideMeFromStrangers: true } })
    const stranger = await member()
    const contact = await member()
    await s.database.db.insert(messaged).values({ subjectId: hidden.id, objectId: contact.id })
    await expectHidden(await view(hidden.id, stranger.token))
    expect((await view(hidden.id, contact.token)).status).toBe(200)
    // The viewer having messaged them is not enough.
    await s.database.db.insert(messaged).values({ subjectId: stranger.id, objectId: hidden.id })
    await expectHidden(await view(hidden.id, stranger.token))
  })

  it("requires the member's privacy verification level unless they messaged the viewer", async () => {
    const careful = await member({ profile: { privacyVerificationLevel: 'photos' } })
    const unverified = await member()
    const basics = await member({ profile: { verificationLevel: 'basics' } })
    const photos = await member({ profile: { verificationLevel: 'photos' } })
    const contact = await member()
    await s.database.db.insert(messaged).values({ subjectId: careful.id, objectId: contact.id })

    for (const viewer of [unverified, basics]) {
      const res = await view(careful.id, viewer.token)
      expect(res.status).toBe(403)
      expect((await problem(res)).code).toBe('verification_required')
    }
    expect((await view(careful.id, photos.token)).status).toBe(200)
    expect((await view(careful.id, contact.token)).status).toBe(200)

    const basicOnly = await member({ profile: { privacyVerificationLevel: 'basics' } })
    expect((await view(basicOnly.id, unverified.token)).status).toBe(403)
    expect((await view(basicOnly.id, basics.token)).status).toBe(200)
  })

  it('is not shown while the member is still onboarding', async () => {
    const draft = await member({ user: { status: 'onboarding' }, profile: { onboardedAt: null } })
    const viewer = await member()
    await expectHidden(await view(draft.id, viewer.token))
    await expectHidden(await view(draft.profile.urlSlug!, viewer.token))
  })

  it('rejects a bad token instead of treating the caller as anonymous', async () => {
    const open = await member({ profile: { publicProfile: true } })
    const res = await view(open.id, 'garbage')
    expect(res.status).toBe(401)
    expect((await view(`${'x'.repeat(101)}`)).status).toBe(422)
  })

  it('reflects edits to the profile', async () => {
    const alex = await member()
    const viewer = await member()
    await s.database.db.update(profiles).set({ about: 'Now with a bio' }).where(eq(profiles.userId, alex.id))
    expect(((await (await view(alex.id, viewer.token)).json()) as { about: string }).about).toBe(
      'Now with a bio',
    )
  })
})
