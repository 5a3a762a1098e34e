import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devOperator } from '../../scripts/dev'
import { type SmtpSink, startSmtpSink } from '../../scripts/local-stack/smtp-sink'

/** One SMTP conversation, as the Worker's mailer has it: EHLO, AUTH PLAIN, one message. */
async function deliver(sink: SmtpSink, to: string, subject: string, body: string): Promise<void> {
  const socket = connect(sink.smtpPort, '127.0.0.1')
  let buffer = ''
  const reply = () =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        // A complete reply ends with a line "NNN text" (no dash after the code).
        const match = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer)
        if (!match) return
        const text = buffer
        buffer = ''
        socket.off('data', onData)
        if (Number(match[1]) >= 400) reject(new Error(text))
        else resolve(text)
      }
      const onData = (chunk: Buffer) => {
        buffer += chunk.toString()
        check()
      }
      socket.on('data', onData)
      check()
    })
  const send = async (line: string) => {
    socket.write(`${line}\r\n`)
    return reply()
  }
  await reply()
  await send('EHLO test.local')
  await send(`AUTH PLAIN ${Buffer.from(`\0${sink.user}\0${sink.pass}`).toString('base64')}`)
  await send('MAIL FROM:<no-reply@rapport.localhost>')
  await send(`RCPT TO:<${to}>`)
  await send('DATA')
  await send(
    `From: Rapport <no-reply@rapport.localhost>\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}\r\n.`,
  )
  await send('QUIT')
  socket.end()
}

describe('the local mailbox', () => {
  let sink: SmtpSink
  beforeAll(async () => {
    sink = await startSmtpSink()
  })
  afterAll(async () => {
    await sink?.close()
  })

  it('shows caught messages newest first on its page, escaped, and as JSON per recipient', async () => {
    await deliver(sink, 'ana@gmail.com', 'Your sign-in code', 'Your code is 482913')
    await deliver(sink, 'bo@gmail.com', 'Hi <script>', 'Body with <b>tags</b>')
    const page = await fetch(`${sink.apiUrl}/`)
    expect(page.headers.get('content-type')).toContain('text/html')
    const html = await page.text()
    expect(html).toContain('2 message(s)')
    expect(html.indexOf('Hi &#60;script&#62;')).toBeLessThan(html.indexOf('Your sign-in code'))
    expect(html).not.toContain('<script>')
    const json = (await (await fetch(`${sink.apiUrl}/messages?to=ana@gmail.com`)).json()) as {
      subject: string
      text: string
    }[]
    expect(json).toHaveLength(1)
    expect(json[0]).toMatchObject({ subject: 'Your sign-in code' })
    expect(json[0]!.text).toContain('482913')
  })

  it('refuses a wrong SMTP password', async () => {
    await expect(deliver({ ...sink, pass: 'wrong' }, 'ana@gmail.com', 's', 'b')).rejects.toThrow(/535/)
  })
})

describe('the dev operator of npm run dev', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rapport-dev-operator-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('is generated once, readable only by its owner, and the same on later starts', () => {
    const first = devOperator(dir)
    expect(first).toMatchObject({ username: 'dev', email: 'dev-operator@example.com', created: true })
    expect(first.password.length).toBeGreaterThanOrEqual(16)
    expect(statSync(join(dir, 'dev-operator.json')).mode & 0o777).toBe(0o600)
    const again = devOperator(dir)
    expect(again).toEqual({ ...first, created: false })
  })
})
