import { randomBytes } from 'node:crypto'
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type AddressObject, simpleParser } from 'mailparser'
import { SMTPServer } from 'smtp-server'

/** One accepted message as the tests see it. `to` is the SMTP envelope (what was really delivered). */
export interface SinkMessage {
  from: string
  to: string[]
  subject: string
  text: string | null
  html: string | null
  date: string
  /** Raw header lines by lower-case name (the first of each), e.g. `list-unsubscribe`. */
  headers: Record<string, string>
}

export interface SmtpSink {
  smtpPort: number
  /**
   * Base URL of the inspection API: `GET /messages?to=` (JSON, oldest first),
   * `DELETE /messages[?to=]`, and `GET /` — the local mailbox page (newest first).
   */
  apiUrl: string
  user: string
  pass: string
  close(): Promise<void>
}

export interface SmtpSinkOptions {
  /** Port of the inspection API and mailbox page; a free one when omitted. */
  apiPort?: number
  /** Port of the SMTP server; a free one when omitted. */
  smtpPort?: number
}

/**
 * A real SMTP server on 127.0.0.1 for the tests and `npm run dev` (the local mailbox): the Worker's mailer talks to it exactly as to a
 * provider (EHLO, AUTH PLAIN/LOGIN with a per-run password, MAIL/RCPT/DATA). It keeps parsed
 * messages in memory and serves them over a small HTTP API on another loopback port, which
 * workerd tests read with `fetch`.
 *
 * Recipient `smtp-reject@…` is refused with 550, `smtp-drop@…` with 421 and a closed connection.
 *
 * No TLS: STARTTLS is not offered (the Worker runs with SMTP_SECURE=none), so smtp-server never
 * needs its built-in certificate.
 *
 * @example
 * const sink = await startSmtpSink()
 * // … SMTP_PORT=sink.smtpPort, SMTP_USER=sink.user, SMTP_PASS=sink.pass
 * await fetch(`${sink.apiUrl}/messages?to=jane@rapport.test`).then((r) => r.json())
 * await sink.close()
 */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const user = 'rapport-local'
  const pass = randomBytes(12).toString('hex')
  const messages: SinkMessage[] = []

  const smtp = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    authMethods: ['PLAIN', 'LOGIN'],
    // AUTH over plain TCP is what we test; smtp-server refuses it without this.
    allowInsecureAuth: true,
    // Offline machine: a reverse DNS lookup per connection would only add latency.
    disableReverseLookup: true,
    logger: false,
    size: 5 * 1024 * 1024,
    // Tests leave half-open sessions behind (failed AUTH inside connect is never QUIT): don't let
    // them hold the suite's teardown for the default 30 s.
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      if (auth.username === user && auth.password === pass) return callback(null, { user })
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }))
    },
    // Recipients that make the server misbehave on purpose, so tests can cover the failure paths
    // of the Worker's mailer against a real server.
    onRcptTo(address, _session, callback) {
      const local = address.address.split('@')[0]
      if (local === 'smtp-reject') {
        return callback(Object.assign(new Error('Mailbox unavailable'), { responseCode: 550 }))
      }
      // 421 makes smtp-server close the connection right after the reply.
      if (local === 'smtp-drop') {
        return callback(Object.assign(new Error('Closing connection'), { responseCode: 421 }))
      }
      callback()
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((parsed) => {
          messages.push({
            from: addressText(parsed.from),
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: parsed.subject ?? '',
            text: parsed.text ?? null,
            html: parsed.html === false ? null : parsed.html,
            date: (parsed.date ?? new Date()).toISOString(),
            headers: Object.fromEntries(
              parsed.headerLines
                .map((h) => [h.key, h.line.slice(h.line.indexOf(':') + 1).trim()] as const)
                .reverse(),
            ),
          })
          callback()
        })
        .catch((err: Error) => callback(err))
    },
  })

  const api = createServer((req, res) => {
    try {
      handleApi(req, res, messages)
    } catch (err) {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) }))
    }
  })

  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject)
    smtp.listen(options.smtpPort ?? 0, '127.0.0.1', () => resolve())
  })
  await new Promise<void>((resolve, reject) => {
    api.once('error', reject)
    api.listen(options.apiPort ?? 0, '127.0.0.1', () => resolve())
  })

  return {
    smtpPort: (smtp.server.address() as AddressInfo).port,
    apiUrl: `http://127.0.0.1:${(api.address() as AddressInfo).port}`,
    user,
    pass,
    async close() {
      api.closeAllConnections()
      await Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        new Promise<void>((resolve) => api.close(() => resolve())),
      ])
    },
  }
}

function handleApi(req: IncomingMessage, res: ServerResponse, messages: SinkMessage[]): void {
  const url = new URL(req.url ?? '/', 'http://sink')
  if (url.pathname === '/' && req.method === 'GET') {
    res
      .writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      .end(mailboxPage(messages))
    return
  }
  if (url.pathname !== '/messages') {
    res.writeHead(404).end()
    return
  }
  const to = url.searchParams.get('to')?.toLowerCase()
  const matches = (m: SinkMessage) => !to || m.to.some((addr) => addr.toLowerCase() === to)
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(messages.filter(matches)))
    return
  }
  if (req.method === 'DELETE') {
    // In place: the SMTP handler holds the same array. `?to=` lets parallel test files clear only
    // their own recipients.
    for (let i = messages.length - 1; i >= 0; i--) if (matches(messages[i]!)) messages.splice(i, 1)
    res.writeHead(204).end()
    return
  }
  res.writeHead(405, { allow: 'GET, DELETE' }).end()
}

function addressText(value: AddressObject | AddressObject[] | undefined): string {
  if (!value) return ''
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ')
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`)

/**
 * The local mailbox: every caught message, newest first, as plain text (HTML bodies are not
 * rendered, so nothing in a message can run here). Reload to see new mail.
 */
function mailboxPage(messages: SinkMessage[]): string {
  const items = [...messages]
    .reverse()
    .map(
      (m) =>
        `<article><h2>${escapeHtml(m.subject || '(no subject)')}</h2>` +
        `<p class="meta">${escapeHtml(m.date)} · from ${escapeHtml(m.from)} · to ${escapeHtml(m.to.join(', '))}</p>` +
        `<pre>${escapeHtml(m.text ?? '(HTML only)')}</pre></article>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Rapport local mailbox</title>
<style>body{font:15px/1.4 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
article{border-top:1px solid #ccc;padding:.5rem 0}h2{font-size:1.1rem;margin:.3rem 0}
.meta{color:#555;margin:0}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5rem}</style></head>
<body><h1>Local mailbox</h1><p>${messages.length} message(s) caught by the SMTP sink of <code>npm run dev</code>.
JSON: <a href="/messages">/messages</a> (<code>?to=</code> filters by recipient).</p>
${items}
</body></html>
`
}
