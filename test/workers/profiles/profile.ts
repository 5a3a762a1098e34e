import { desc, eq, ne } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { photos, places, profiles, tiers, users } from '../../../src/db/schema'
import { signIn } from '../auth-helpers'
import { call, member } from '../fixtures'
import { problem, services } from '../helpers'

const s = services()

const edit = (token: string, body: unknown) => call('PATCH', '/api/v1/me/profile', token, body)

async function goldTier(): Promise<string> {
  const [tier] = await s.database.db
    .insert(tiers)
    .values({
      name: `gold-${crypto.randomUUID().slice(0, 8)}`,
      features: { goldProfileFields: true, invisibleBrowsing: true },
    })
    .returning()
  return tier!.id
}

describe('my profile', () => {
  it('shows every field and setting', async () => {
    const me = await member({ name: 'Ada' })
    const res = await call('GET', '/api/v1/me/profile', me.token)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('private, no-store')
    expect(await res.json()).toMatchObject({
      id: me.id,
      name: 'Ada',
      urlSlug: me.profile.urlSlug,
      status: 'active',
      dateOfBirth: '1994-05-17',
      gender: 'woman',
      location: { label: me.place.label, shortLabel: me.place.shortLabel, countryCode: 'AU' },
      units: 'metric',
      chatsNotification: 'immediately',
      introsNotification: 'daily',
      privacyVerificationLevel: 'none',
      publicProfile: false,
      theme: null,
      photos: [],
      voiceBio: null,
      lookingFor: null,
    })
  })

  it('edits basics, settings and text; null clears', async () => {
    const me = await member()
    const res = await edit(me.token, {
      about: '  Gardener, amateur astronomer and terrible cook.  ',
      occupation: 'Botanist',
      education: 'University of Sydney',
      heightCm: 172,
      orientation: 'bisexual',
      lookingFor: 'long-term-dating',
      smoking: 'no',
      drinking: 'sometimes',
      drugs: 'no',
      longDistance: 'yes',
      relationshipStatus: 'single',
      hasKids: 'no',
      wantsKids: 'maybe',
      exercise: 'often',
      religion: 'agnostic',
      starSign: 'virgo',
      units: 'imperial',
      chatsNotification: 'daily',
      introsNotification: 'never',
      privacyVerificationLevel: 'basics',
      publicProfile: true,
    })
    expect(res.status, await res.clone().text()).toBe(200)
    expect(await res.json()).toMatchObject({
      about: 'Gardener, amateur astronomer and terrible cook.',
      heightCm: 172,
      wantsKids: 'maybe',
      introsNotification: 'never',
      publicProfile: true,
    })

    const cleared = await edit(me.token, { occupation: null, religion: null, about: null })
    expect(await cleared.json()).toMatchObject({
      occupation: null,
      religion: null,
      about: null,
      starSign: 'virgo',
    })
  })

  it('moves to another known place', async () => {
    const me = await member()
    const [other] = await s.database.db
      .select()
      .from(places)
      .where(ne(places.countryCode, 'AU'))
      .orderBy(desc(places.population))
      .limit(1)
    const res = await edit(me.token, { location: other!.label })
    expect(res.status).toBe(200)
    expect(((await res.json()) as { location: { label: string } }).location.label).toBe(other!.label)
    const [row] = await s.database.db.select().from(profiles).where(eq(profiles.userId, me.id))
    expect(row).toMatchObject({ placeId: other!.id, latitude: other!.latitude, longitude: other!.longitude })
  })

  it.each([
    [{ about: 'Find me on example.com' }, 'json.about'],
    [{ about: 'Text me on +1 415 555 0100' }, 'json.about'],
    [{ about: 'write to me: someone@example.org' }, 'json.about'],
    [{ about: 'cashapp $sweetie for pics' }, 'json.about'],
    [{ about: 'x'.repeat(10_001) }, 'json.about'],
    [{ occupation: 'x'.repeat(65) }, 'json.occupation'],
    [{ occupation: '' }, 'json.occupation'],
    [{ education: 'n1gger studies' }, 'json.education'],
    [{ heightCm: 400 }, 'json.heightCm'],
    [{ heightCm: 170.5 }, 'json.heightCm'],
    [{ smoking: 'sometimes' }, 'json.smoking'],
    [{ units: 'cubits' }, 'json.units'],
    [{ location: 'Atlantis' }, 'json.location'],
    [{ publicProfile: 'yes' }, 'json.publicProfile'],
    [{ email: 'new@example.org' }, 'json'],
    [{}, 'json'],
  ])('refuses %j naming %s', async (body, path) => {
    const me = await member()
    const res = await edit(me.token, body)
    expect(res.status).toBe(422)
    expect((await problem(res)).errors?.map((e) => e.path)).toContain(path)
  })

  it('writes nothing when any field is refused', async () => {
    const me = await member()
    const res = await edit(me.token, { occupation: 'Baker', about: 'see www.example.com' })
    expect(res.status).toBe(422)
    const [row] = await s.database.db.select().from(profiles).where(eq(profiles.userId, me.id))
    expect(row!.occupation).toBeNull()
  })

  it('resets the verified flag of a changed gender or ethnicity, and only then', async () => {
    const me = await member({
      profile: { ethnicity: 'east-asian', verifiedGender: true, verifiedEthnicity: true, verifiedAge: true },
    })
    const same = await edit(me.token, { gender: 'woman', ethnicity: 'east-asian' })
    expect(((await same.json()) as { verification: unknown }).verification).toMatchObject({
      gender: true,
      ethnicity: true,
    })
    const changed = await edit(me.token, { gender: 'non-binary' })
    expect(((await changed.json()) as { verification: unknown }).verification).toMatchObject({
      gender: false,
      ethnicity: true,
      age: true,
    })
    const eth = await edit(me.token, { ethnicity: 'south-asian' })
    expect(((await eth.json()) as { verification: unknown }).verification).toMatchObject({ ethnicity: false })
  })

  it('refuses tier-gated fields to tiers without the feature, naming each', async () => {
    const me = await member()
    const res = await edit(me.token, {
      name: 'New Name',
      theme: { titleColor: '#112233', bodyColor: '#445566', backgroundColor: '#778899' },
      browseInvisibly: true,
      occupation: 'Chef',
    })
    expect(res.status).toBe(403)
    const p = await problem(res)
    expect(p.code).toBe('tier_required')
    expect(p.errors?.map((e) => e.path).sort()).toEqual(['json.browseInvisibly', 'json.name', 'json.theme'])
    const [row] = await s.database.db.select().from(profiles).where(eq(profiles.userId, me.id))
    expect(row!.occupation).toBeNull()
    for (const change of [
      { showMyAge: false },
      { showMyLocation: false },
      { showMyLookingFor: false },
      { hideMeFromStrangers: true },
    ]) {
      expect((await edit(me.token, change)).status).toBe(403)
    }
  })

  it('lets a tier with the features change them; a new name gets a new slug', async () => {
    const me = await member({ name: 'Before', user: { tierId: await goldTier() } })
    const res = await edit(me.token, {
      name: 'Zelda Fitzgerald',
      theme: { titleColor: '#AA0000', bodyColor: '#00aa00', backgroundColor: '#0000aa' },
      showMyAge: false,
      hideMeFromStrangers: true,
      browseInvisibly: true,
    })
    expect(res.status, await res.clone().text()).toBe(200)
    const body = (await res.json()) as { name: string; urlSlug: string; theme: unknown; showMyAge: boolean }
    expect(body).toMatchObject({
      name: 'Zelda Fitzgerald',
      theme: { titleColor: '#aa0000', bodyColor: '#00aa00', backgroundColor: '#0000aa' },
      showMyAge: false,
    })
    expect(body.urlSlug).toMatch(/^zelda-fitzgerald/)
    const [user] = await s.database.db.select().from(users).where(eq(users.id, me.id))
    expect(user!.name).toBe('Zelda Fitzgerald')

    expect(
      (
        await edit(me.token, {
          theme: { titleColor: 'red', bodyColor: '#000000', backgroundColor: '#ffffff' },
        })
      ).status,
    ).toBe(422)
    const reset = await edit(me.token, { theme: null })
    expect(((await reset.json()) as { theme: unknown }).theme).toBeNull()
  })

  it('lets a member whose tier lapsed put gated settings back to their defaults, and only that', async () => {
    const me = await member({
      profile: {
        showMyAge: false,
        hideMeFromStrangers: true,
        themeTitleColor: '#111111',
        themeBodyColor: '#222222',
        themeBackgroundColor: '#333333',
      },
    })
    const back = await edit(me.token, { showMyAge: true, hideMeFromStrangers: false, theme: null })
    expect(back.status, await back.clone().text()).toBe(200)
    expect(await back.json()).toMatchObject({ showMyAge: true, hideMeFromStrangers: false, theme: null })
    expect((await edit(me.token, { showMyAge: false })).status).toBe(403)
  })

  it('drops the verification level when what it rested on changes', async () => {
    const me = await member({
      profile: { verificationLevel: 'photos', verifiedAge: true, verifiedGender: true },
    })
    const id = crypto.randomUUID().replaceAll('-', '').repeat(2)
    await s.database.db.insert(photos).values({
      id,
      userId: me.id,
      position: 1,
      blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj',
      width: 900,
      height: 900,
      contentHash: id,
      verified: true,
    })
    const level = async () =>
      (await s.database.db.select().from(profiles).where(eq(profiles.userId, me.id)))[0]!.verificationLevel
    expect((await call('DELETE', '/api/v1/me/photos/1', me.token)).status).toBe(204)
    expect(await level()).toBe('basics')
    const changed = await edit(me.token, { gender: 'non-binary' })
    expect(((await changed.json()) as { verification: unknown }).verification).toMatchObject({
      level: 'none',
      gender: false,
      age: true,
    })
  })

  it('needs a finished onboarding and a token', async () => {
    const { accessToken } = await signIn()
    for (const res of [
      await call('GET', '/api/v1/me/profile', accessToken),
      await edit(accessToken, { about: 'Still onboarding' }),
    ]) {
      expect(res.status).toBe(409)
      expect((await problem(res)).code).toBe('onboarding_required')
    }
    expect((await call('GET', '/api/v1/me/profile')).status).toBe(401)
    expect((await call('PATCH', '/api/v1/me/profile', undefined, { about: 'x' })).status).toBe(401)
    expect((await call('GET', '/api/v1/me/profile', 'not-a-token')).status).toBe(401)
  })
})
