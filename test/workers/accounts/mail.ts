import { env } from 'cloudflare:test'
import { beforeEach, describe, expect, it } from 'vitest'
import type { Env } from '../../../src/env'
import type { Logger } from '../../../src/lib/log'
import { createServices } from '../../../src/services'
import { MailDeliveryError, otpEmail, sendMail } from '../../../src/services/platform/mail'
import { clearMailbox, envWith, localOnlyBindings, mailbox } from '../helpers'

/** A logger that keeps every event, so tests can assert what was (and was not) logged. */
function recordingLogger() {
  const events: { level: string; event: string; fields: Record<string, unknown> }[] = []
  const record =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      events.push({ level, event, fields })
  const log: Logger = {
    debug: record('debug'),
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
  }
  return { log, events }
}

// Each test gets its own recipient: test files share one sink and run in parallel.
const recipient = () => `user-${crypto.randomUUID().slice(0, 8)}@rapport.test`

describe('sendMail through worker-mailer to the SMTP sink', () => {
  let to: string
  beforeEach(async () => {
    to = recipient()
    await clearMailbox(to)
  })

  it('authenticates and delivers from, to, subject, text and html', async () => {
    await sendMail(createServices(env as Env), {
      to,
      subject: 'Welcome to Rapport',
      text: 'Hello in plain text.\nSecond line.',
      html: '<p>Hello in <b>HTML</b>.</p>',
    })

    const messages = await mailbox(to)
    expect(messages).toHaveLength(1)
    const [message] = messages
    expect(message!.from).toBe('"Rapport" <no-reply@rapport.test>')
    expect(message!.to).toEqual([to])
    expect(message!.subject).toBe('Welcome to Rapport')
    expect(message!.text?.trim()).toBe('Hello in plain text.\nSecond line.')
    expect(message!.html).toContain('<p>Hello in <b>HTML</b>.</p>')
  })

  it('accepts a bare SMTP_FROM address as well as "Name <address>"', async () => {
    await sendMail(createServices(envWith({ SMTP_FROM: 'bare@rapport.test' })), {
      to,
      subject: 's',
      text: 't',
    })

    const [message] = await mailbox(to)
    expect(message!.from).toBe('bare@rapport.test')
  })

  it('reports an unusable SMTP_FROM as configuration, not as a delivery failure', async () => {
    const s = createServices(envWith({ SMTP_FROM: 'Rapport <not an address>' }))

    const error = await sendMail(s, { to, subject: 's', text: 't' }).catch((e: unknown) => e)

    expect(error).not.toBeInstanceOf(MailDeliveryError)
    expect((error as Error).message).toBe('SMTP_FROM is not a valid address: Rapport <not an address>')
    expect(await mailbox(to)).toEqual([])
  })

  it('delivers the one-time-password email with the code readable in the text part', async () => {
    await sendMail(createServices(env as Env), { to, ...otpEmail('482913', { minutes: 10 }) })

    const [message] = await mailbox(to)
    expect(message!.subject).toBe('Your Rapport sign-in code')
    expect(message!.text).toContain('482913')
    expect(message!.text).toContain('expires in 10 minutes')
    expect(message!.html).toContain('482913')
  })

  it('keeps a newline in the subject from injecting headers', async () => {
    const bcc = recipient()
    await sendMail(createServices(env as Env), {
      to,
      subject: `Hello\r\nBcc: ${bcc}`,
      text: 'body',
    })

    const [message] = await mailbox(to)
    expect(message!.subject).toBe(`Hello Bcc: ${bcc}`)
    expect(message!.to).toEqual([to])
    expect(await mailbox(bcc)).toEqual([])
  })

  it('refuses a recipient that is not a plain address, before touching the socket', async () => {
    await expect(
      sendMail(createServices(env as Env), {
        to: `${to}>\r\nRCPT TO:<x@rapport.test`,
        subject: 's',
        text: 't',
      }),
    ).rejects.toThrow('recipient is not a valid email address')
    expect(await mailbox(to)).toEqual([])
  })
})

describe('addresses that are never sent to', () => {
  it('skips @example.com without connecting, logging only at debug', async () => {
    // Port 1 refuses connections: if sendMail tried to deliver, it would throw.
    const { log, events } = recordingLogger()
    const s = createServices(envWith({ SMTP_PORT: '1' }), { log })

    await sendMail(s, { to: 'jane@example.com', subject: 's', text: 't' })
    await sendMail(s, { to: ' Jane@Mail.EXAMPLE.com ', subject: 's', text: 't' })

    expect(await mailbox('jane@example.com')).toEqual([])
    expect(events.map((e) => [e.level, e.event, e.fields.reason])).toEqual([
      ['debug', 'mail.skipped', 'example_domain'],
      ['debug', 'mail.skipped', 'example_domain'],
    ])
  })
})

describe('SMTP failures surface as clear errors', () => {
  it('names an authentication failure when the password is wrong', async () => {
    const { log, events } = recordingLogger()
    const s = createServices(envWith({ SMTP_PASS: 'not-the-password' }), { log })
    const to = recipient()

    const error = await sendMail(s, { to, subject: 's', text: 't' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(MailDeliveryError)
    expect(error).toMatchObject({ failure: 'auth' })
    expect((error as Error).message).toMatch(
      /^Could not send mail through SMTP 127\.0\.0\.1:\d+: authentication failed, check SMTP_USER and SMTP_PASS \(.*535/,
    )
    expect(await mailbox(to)).toEqual([])
    expect(events).toContainEqual(
      expect.objectContaining({
        level: 'error',
        event: 'mail.failed',
        fields: expect.objectContaining({ failure: 'auth' }),
      }),
    )
  })

  it('names a refused recipient as a rejection', async () => {
    const s = createServices(env as Env, { log: recordingLogger().log })

    const error = await sendMail(s, { to: 'smtp-reject@rapport.test', subject: 's', text: 't' }).catch(
      (e: unknown) => e,
    )

    expect(error).toBeInstanceOf(MailDeliveryError)
    expect(error).toMatchObject({ failure: 'rejected' })
    expect((error as Error).message).toMatch(/: the server refused the message \(.*550 Mailbox unavailable/)
  })

  it('fails promptly, without hanging the isolate, when the server drops the connection', async () => {
    const s = createServices(env as Env, { log: recordingLogger().log })
    const started = Date.now()

    const error = await sendMail(s, { to: 'smtp-drop@rapport.test', subject: 's', text: 't' }).catch(
      (e: unknown) => e,
    )

    expect(error).toBeInstanceOf(MailDeliveryError)
    expect((error as Error).message).toContain('421 Closing connection')
    // Well under the 10 s reply timeout: the failure comes from the reply, not from waiting.
    expect(Date.now() - started).toBeLessThan(5_000)
    // The same isolate still delivers afterwards (worker-mailer 1.2.1 unpatched would spin here).
    const to = recipient()
    await sendMail(s, { to, subject: 'after the drop', text: 't' })
    expect((await mailbox(to)).map((m) => m.subject)).toEqual(['after the drop'])
  })

  it('names a connection failure when the server is down', async () => {
    const s = createServices(envWith({ SMTP_PORT: '1' }), { log: recordingLogger().log })

    const error = await sendMail(s, { to: recipient(), subject: 's', text: 't' }).catch((e: unknown) => e)

    expect(error).toBeInstanceOf(MailDeliveryError)
    expect(error).toMatchObject({ failure: 'connect' })
    expect((error as Error).message).toMatch(
      /^Could not send mail through SMTP 127\.0\.0\.1:1: could not connect \(/,
    )
  })
})

describe('without SMTP configuration', () => {
  it('in local: warns that nothing was sent and logs the text (with the code) at info', async () => {
    const { log, events } = recordingLogger()
    const s = createServices(envWith({ SMTP_HOST: '' }), { log })
    const to = recipient()

    await sendMail(s, { to, ...otpEmail('735102', { minutes: 5 }) })

    expect(await mailbox(to)).toEqual([])
    const warning = events.find((e) => e.event === 'mail.not_sent')
    expect(warning).toMatchObject({ level: 'warn', fields: { sent: false, reason: 'smtp_not_configured' } })
    expect(JSON.stringify(warning)).not.toContain('735102')
    const preview = events.find((e) => e.event === 'mail.local_preview')
    expect(preview?.level).toBe('info')
    expect(preview?.fields.note).toMatch(/NOT sent.*development only/)
    expect(preview?.fields.text).toContain('735102')
  })

  it('outside local: warns without ever logging the message text', async () => {
    const { log, events } = recordingLogger()
    const s = createServices(envWith({ ENVIRONMENT: 'staging', ...localOnlyBindings, SMTP_HOST: '' }), {
      log,
    })

    await sendMail(s, { to: recipient(), ...otpEmail('735102', { minutes: 5 }) })

    expect(events.map((e) => [e.level, e.event])).toEqual([['warn', 'mail.not_sent']])
    expect(JSON.stringify(events)).not.toContain('735102')
  })
})

describe('otpEmail', () => {
  it('states the code, its expiry and what to do if it was not requested', () => {
    const mail = otpEmail('048213', { minutes: 10 })

    expect(mail.subject).toBe('Your Rapport sign-in code')
    expect(mail.text).toContain('048213')
    expect(mail.text).toContain('It expires in 10 minutes')
    expect(mail.text).toMatch(/If you didn't ask for this code, you can safely ignore this email/)
    expect(mail.html).toContain('048213')
    expect(mail.html).toContain('It expires in 10 minutes')
    expect(mail.html).toMatch(/If you didn't ask for this code, you can safely ignore this email/)
  })

  it('says "1 minute", not "1 minutes"', () => {
    expect(otpEmail('1', { minutes: 1 }).text).toContain('expires in 1 minute and')
  })

  it('has no links, images or tracking pixels, and escapes the code in HTML', () => {
    const { html, text } = otpEmail('<b>&', { minutes: 10 })
    expect(html).not.toMatch(/<a\b|<img\b|https?:|src=/i)
    expect(text).not.toMatch(/https?:/)
    expect(html).toContain('&#60;b&#62;&#38;')
    expect(html).not.toContain('<b>&')
  })
})
