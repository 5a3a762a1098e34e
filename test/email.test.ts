import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { env } from 'cloudflare:test'
import type { Env } from '../src/env'
import { createServices } from '../src/services'
import { isDisposableEmail as isDisposableIn } from '../src/services/accounts/disposable-email'
import {
  InvalidEmailError,
  disposableDomainCandidates,
  emailDomain,
  normalizeEmail,
  normalizedEmailSchema,
  plusAddressingDomains,
} from '../src/services/accounts/email'

describe('normalizeEmail', () => {
  it('trims surrounding whitespace and lower-cases the whole address', () => {
    expect(normalizeEmail('  Jane.Doe@Company.IO \n')).toBe('jane.doe@company.io')
    expect(normalizeEmail('\tJANE@PROTON.ME')).toBe('jane@proton.me')
  })

  it('folds every Gmail spelling of one mailbox to the same key', () => {
    const spellings = [
      'janedoe@gmail.com',
      'jane.doe@gmail.com',
      'j.a.n.e.d.o.e@gmail.com',
      'JaneDoe@Gmail.com',
      'jane.doe+dating@gmail.com',
      'janedoe+a+b@gmail.com',
      'jane.doe@googlemail.com',
      'Jane.Doe+x@GoogleMail.com',
    ]
    expect(new Set(spellings.map(normalizeEmail))).toEqual(new Set(['janedoe@gmail.com']))
  })

  it('keeps different Gmail users apart', () => {
    expect(normalizeEmail('jane.doe@gmail.com')).not.toBe(normalizeEmail('jane.doe2@gmail.com'))
    expect(normalizeEmail('jane-doe@gmail.com')).toBe('jane-doe@gmail.com')
  })

  it('strips +tags on Outlook and the other sub-addressing providers, but keeps their dots', () => {
    expect(normalizeEmail('Jane.Doe+newsletters@outlook.com')).toBe('jane.doe@outlook.com')
    expect(normalizeEmail('jane+x@hotmail.com')).toBe('jane@hotmail.com')
    expect(normalizeEmail('jane+x@live.com')).toBe('jane@live.com')
    expect(normalizeEmail('jane+x@icloud.com')).toBe('jane@icloud.com')
    expect(normalizeEmail('jane+x@proton.me')).toBe('jane@proton.me')
    expect(normalizeEmail('jane+x@fastmail.com')).toBe('jane@fastmail.com')
    expect(normalizeEmail('j.ane+x@yandex.ru')).toBe('j.ane@yandex.ru')
  })

  it('does not merge sibling domains of one provider', () => {
    expect(normalizeEmail('jane@hotmail.com')).not.toBe(normalizeEmail('jane@outlook.com'))
    expect(normalizeEmail('jane@me.com')).not.toBe(normalizeEmail('jane@icloud.com'))
  })

  it('keeps +tags and dots on providers not known to support sub-addressing', () => {
    expect(normalizeEmail('jane+work@company.io')).toBe('jane+work@company.io')
    expect(normalizeEmail('jane.doe+x@yahoo.com')).toBe('jane.doe+x@yahoo.com')
    expect(normalizeEmail('jane-x@yahoo.com')).toBe('jane-x@yahoo.com')
    expect(normalizeEmail('jane+x@gmx.de')).toBe('jane+x@gmx.de')
    // A Google Workspace domain cannot be recognised from the address: its dots stay.
    expect(normalizeEmail('jane.doe+x@startup.dev')).toBe('jane.doe+x@startup.dev')
  })

  it('throws InvalidEmailError for input that is not an address', () => {
    for (const bad of [
      '',
      '   ',
      'jane',
      'jane@',
      '@gmail.com',
      'jane@localhost',
      'jane doe@gmail.com',
      'jane..doe@company.io',
      'jane@gmail.com\r\nBcc: x@y.io',
      '"jane"@company.io',
      `${'a'.repeat(250)}@b.io`,
    ]) {
      expect(() => normalizeEmail(bad), bad).toThrow(InvalidEmailError)
    }
  })

  it('throws when folding leaves an empty mailbox', () => {
    expect(() => normalizeEmail('+promo@gmail.com')).toThrow(InvalidEmailError)
    expect(() => normalizeEmail('...@gmail.com')).toThrow(InvalidEmailError)
  })

  it('lists exactly the documented sub-addressing domains', () => {
    expect(plusAddressingDomains.has('gmail.com')).toBe(true)
    expect(plusAddressingDomains.has('outlook.com')).toBe(true)
    expect(plusAddressingDomains.has('yahoo.com')).toBe(false)
    expect(plusAddressingDomains.size).toBe(20)
  })
})

describe('normalizedEmailSchema', () => {
  const body = z.object({ email: normalizedEmailSchema })

  it('yields the normalised address', () => {
    expect(body.parse({ email: ' J.Doe+x@Gmail.com ' })).toEqual({ email: 'jdoe@gmail.com' })
  })

  it('reports a bad address as an issue on the field', () => {
    const result = body.safeParse({ email: 'not-an-address' })
    expect(result.success).toBe(false)
    expect(result.error?.issues).toEqual([
      expect.objectContaining({ path: ['email'], message: 'Invalid email address' }),
    ])
  })
})

describe('emailDomain', () => {
  it('returns the lower-cased part after the last @', () => {
    expect(emailDomain('Jane@Mailinator.COM')).toBe('mailinator.com')
    expect(emailDomain('no-at-sign')).toBe('')
  })
})

// The list lives in Postgres (synced from the pinned package by db:migrate, which the test setup runs).
const isDisposableEmail = (address: string) => isDisposableIn(createServices(env as Env), address)

describe('isDisposableEmail', () => {
  it('looks up the domain and each parent domain above the TLD', async () => {
    expect(disposableDomainCandidates('x@a.b.mailinator.com')).toEqual([
      'a.b.mailinator.com',
      'b.mailinator.com',
      'mailinator.com',
    ])
    expect(disposableDomainCandidates('x@gmail.com')).toEqual(['gmail.com'])
  })

  it('recognises well-known throwaway services', async () => {
    for (const address of [
      'x@mailinator.com',
      'x@10minutemail.com',
      'x@guerrillamail.com',
      'x@yopmail.com',
      'x@sharklasers.com',
    ]) {
      expect(await isDisposableEmail(normalizeEmail(address)), address).toBe(true)
    }
  })

  it('recognises subdomains of a disposable domain', async () => {
    expect(await isDisposableEmail('x@inbox.mailinator.com')).toBe(true)
    expect(await isDisposableEmail('x@a.b.10minutemail.com')).toBe(true)
  })

  it('does not flag ordinary providers or company domains', async () => {
    for (const address of [
      'jane@gmail.com',
      'jane@outlook.com',
      'jane@proton.me',
      'jane@icloud.com',
      'jane@yahoo.com',
      'jane@gmx.de',
      'jane@acme-corp.com',
      'jane@mail.company.io',
    ]) {
      expect(await isDisposableEmail(normalizeEmail(address)), address).toBe(false)
    }
  })

  it('matches whole labels only, not names that merely contain a listed domain', async () => {
    expect(await isDisposableEmail('x@acmemailinator.com')).toBe(false)
    expect(await isDisposableEmail('x@not10minutemail.com')).toBe(false)
    expect(await isDisposableEmail('x@mailinator.com.au')).toBe(false)
    expect(await isDisposableEmail('x@yopmail.company.io')).toBe(false)
  })
})
