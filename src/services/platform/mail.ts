import { LogLevel, type User, WorkerMailer, type WorkerMailerOptions } from 'worker-mailer'
import { z } from 'zod'
import type { Config } from '../../config'
import { emailDomain } from '../accounts/email'
import { describeError } from '../../lib/log'
import { escapeHtml } from '../../lib/http/html'
import type { Services } from '..'

/**
 * Outgoing mail over SMTP, straight from the Worker through `worker-mailer` (TCP via
 * `cloudflare:sockets`). One connection per message: sign-in codes are rare enough per isolate
 * that pooling would only add state to get wrong.
 *
 * worker-mailer 1.2.1 quirks this module works around (read its dist/index.mjs before upgrading):
 * - With no `authType` it refuses every server that advertises AUTH ("No supported auth method
 *   found"), and its CRAM-MD5 is broken, so PLAIN and LOGIN are always requested explicitly.
 * - A `from` string is used verbatim in `MAIL FROM:<…>`, so `Name <addr>` must be split into
 *   `{ name, email }` first or the server rejects the envelope.
 * - `responseTimeoutMs` is ignored (the constructor reads `socketTimeoutMs` for both), so the one
 *   timeout we pass bounds both the connect and every server reply.
 * - The static `WorkerMailer.send` never closes the connection when sending fails; we connect,
 *   send and close ourselves.
 * - With `secure: 'starttls'` it upgrades only when the server advertises STARTTLS and otherwise
 *   carries on in plain text (credentials included). Production must point at a provider that
 *   offers STARTTLS, or use `secure: 'tls'` (port 465), which cannot be downgraded.
 * - When authentication fails inside `connect`, the half-open socket is not closed by the
 *   library; the runtime reclaims it when the request ends.
 * - Its reply reader ignores end-of-stream: when the server closes the connection (a provider
 *   dropping us, a 421, a proxy reset) `reader.read()` keeps resolving `{ done: true }` and the
 *   loop spins on microtasks forever, starving its own timeout timer and pinning the isolate's
 *   CPU. {@link patchReplyReader} below replaces that one method with a copy that throws.
 */

export interface MailMessage {
  to: string
  subject: string
  text: string
  html?: string
  /** Extra headers (e.g. List-Unsubscribe); values are stripped of line breaks. */
  headers?: Record<string, string>
}

type SmtpConfig = NonNullable<Config['smtp']>

/** Why a delivery failed, so callers and logs can tell an outage from a misconfiguration. */
export type MailFailure = 'connect' | 'auth' | 'timeout' | 'rejected'

/** Thrown by {@link sendMail} when the SMTP server cannot be reached or refuses the message. Callers map it to 503. */
export class MailDeliveryError extends Error {
  constructor(
    readonly failure: MailFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = 'MailDeliveryError'
  }
}

// Long enough for a slow provider's greeting, short enough that a sign-in request fails with a
// clear 503 well inside the Worker's wall-clock budget instead of hanging.
const smtpTimeoutMs = 10_000

const address = z.email()

/**
 * Replace worker-mailer's private `read()` (one SMTP reply, possibly multi-line) with the same
 * logic plus the missing end-of-stream check; see the module comment. Scoped to the exact
 * version we pin: the shape is checked so an upgrade that renames the internals fails loudly at
 * start-up instead of silently losing the fix.
 */
function patchReplyReader(): void {
  interface Internals {
    reader: ReadableStreamDefaultReader<Uint8Array>
    read(): Promise<string>
  }
  const proto = WorkerMailer.prototype as unknown as Internals
  if (typeof proto.read !== 'function') {
    throw new Error(
      'worker-mailer internals changed: re-check the read() patch in src/services/platform/mail.ts',
    )
  }
  proto.read = async function read(this: Internals): Promise<string> {
    const decoder = new TextDecoder()
    let reply = ''
    for (;;) {
      const { value, done } = await this.reader.read()
      if (done) {
        throw new Error(`Connection closed by the SMTP server${reply ? ` after: ${reply.trim()}` : ''}`)
      }
      reply += decoder.decode(value, { stream: true })
      if (!reply.endsWith('\n')) continue
      // A multi-line reply continues while lines read "250-…"; the last one is "250 …".
      const lines = reply.split(/\r?\n/)
      if (!/^\d+-/.test(lines[lines.length - 2] ?? '')) return reply
    }
  }
}
patchReplyReader()

/**
 * Deliver one message. Returns once the SMTP server has accepted it (250 after DATA).
 *
 * - Addresses at `example.com` (and its subdomains) are never sent to: it is the reserved domain
 *   of seed data and documentation, and a real server would only bounce them.
 * - Without SMTP configuration (allowed outside production) nothing is sent and a warning says
 *   so; in `local` the message text is logged at info so a developer can read a sign-in code.
 * - Any SMTP failure throws {@link MailDeliveryError} with a message naming the server and cause.
 *
 * @example
 * await sendMail(s, { to: 'jane@gmail.com', ...otpEmail('482913', { minutes: 10 }) })
 */
export async function sendMail(s: Services, msg: MailMessage): Promise<void> {
  const to = msg.to.trim()
  const domain = emailDomain(to)
  if (domain === 'example.com' || domain.endsWith('.example.com')) {
    s.log.debug('mail.skipped', { reason: 'example_domain', toDomain: domain })
    return
  }
  // The address goes into `RCPT TO:<…>` unescaped, so anything but a plain address (CR/LF above
  // all) must never reach the socket.
  if (!address.safeParse(to).success) throw new Error('sendMail: recipient is not a valid email address')

  const smtp = s.config.smtp
  if (!smtp) {
    s.log.warn('mail.not_sent', { reason: 'smtp_not_configured', sent: false, toDomain: domain })
    if (s.config.environment === 'local') {
      s.log.info('mail.local_preview', {
        note: 'SMTP is not configured and ENVIRONMENT=local: the message was NOT sent; its text (including any sign-in code) is logged here for development only',
        to,
        subject: msg.subject,
        text: msg.text,
      })
    }
    return
  }

  // Parsed before connecting: a bad SMTP_FROM is a configuration error, not a delivery failure.
  const from = parseMailbox(smtp.from)
  const started = Date.now()
  try {
    const mailer = await WorkerMailer.connect(mailerOptions(smtp))
    try {
      await mailer.send({
        from,
        to,
        // A newline in the subject would start a new header (header injection).
        subject: msg.subject.replace(/[\r\n]+/g, ' '),
        text: msg.text,
        html: msg.html,
        ...(msg.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(msg.headers).map(([k, v]) => [k, v.replace(/[\r\n]+/g, ' ')]),
              ),
            }
          : {}),
      })
    } finally {
      await mailer.close()
    }
  } catch (err) {
    const failure = classify(err)
    const error = new MailDeliveryError(
      failure,
      `Could not send mail through SMTP ${smtp.host}:${smtp.port}: ${describeFailure(failure, err)} (${errorText(err)})`,
      { cause: err },
    )
    s.log.error('mail.failed', {
      failure,
      toDomain: domain,
      ms: Date.now() - started,
      ...describeError(error),
    })
    throw error
  }
  s.log.debug('mail.sent', { toDomain: domain, ms: Date.now() - started })
}

function mailerOptions(smtp: SmtpConfig): WorkerMailerOptions {
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure === 'tls',
    startTls: smtp.secure === 'starttls',
    credentials: smtp.user && smtp.pass ? { username: smtp.user, password: smtp.pass } : undefined,
    authType: ['plain', 'login'],
    // The library logs free-form lines (and at DEBUG whole messages, codes included); our own
    // structured events above say everything operators need.
    logLevel: LogLevel.NONE,
    socketTimeoutMs: smtpTimeoutMs,
    responseTimeoutMs: smtpTimeoutMs,
  }
}

/** `Rapport <no-reply@x>`, `"Rapport" <no-reply@x>` or a bare address → worker-mailer's `{ name, email }`. */
function parseMailbox(value: string): User {
  const match = /^\s*(?:"?([^"<]*?)"?\s*)?<([^<>\s]+)>\s*$/.exec(value)
  const email = (match ? match[2]! : value).trim()
  // Looser than `address`: config.ts defaults SMTP_FROM to no-reply@<SMTP_HOST>, which may be an
  // IP. What must never pass is whitespace or brackets, which would break MAIL FROM:<…>.
  if (!/^[^\s<>@"]+@[^\s<>@"]+$/.test(email)) throw new Error(`SMTP_FROM is not a valid address: ${value}`)
  // The name is written between double quotes in the From header, so quotes and newlines go.
  const name = match?.[1]?.replace(/["\r\n]/g, '').trim()
  return name ? { name, email } : { email }
}

function classify(err: unknown): MailFailure {
  const text = errorText(err)
  if (/authentication|invalid login|no supported auth|requires authentication/i.test(text)) return 'auth'
  if (/timeout/i.test(text)) return 'timeout'
  // worker-mailer reports every refused SMTP command as "Invalid <command> <reply>", "Failed to
  // …" or "Failed send …"; anything else comes from the socket itself.
  if (/^(invalid |failed )/i.test(text) && !/failed to connect/i.test(text)) return 'rejected'
  return 'connect'
}

function describeFailure(failure: MailFailure, err: unknown): string {
  switch (failure) {
    case 'auth':
      return 'authentication failed, check SMTP_USER and SMTP_PASS'
    case 'timeout':
      return `no answer within ${smtpTimeoutMs / 1000} s`
    case 'rejected':
      return 'the server refused the message'
    case 'connect':
      return /closed by the SMTP server/.test(errorText(err))
        ? 'the server closed the connection'
        : 'could not connect'
  }
}

function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim()
}

/**
 * The one-time-password email: the code, how long it lasts, and what to do if it was not asked
 * for. Plain text first (what many clients show in previews), a minimal HTML twin with no images,
 * links or tracking.
 *
 * @example
 * const mail = otpEmail('482913', { minutes: 10 })
 * await sendMail(s, { to: email, ...mail })
 */
export function otpEmail(
  code: string,
  opts: { minutes: number },
): { subject: string; text: string; html: string } {
  const expiry = `${opts.minutes} ${opts.minutes === 1 ? 'minute' : 'minutes'}`
  const subject = 'Your Rapport sign-in code'
  const text = [
    'Hi,',
    '',
    'Here is your Rapport sign-in code:',
    '',
    `    ${code}`,
    '',
    `It expires in ${expiry} and works once.`,
    '',
    "If you didn't ask for this code, you can safely ignore this email: nobody can sign in without it.",
    '',
    '— Rapport',
  ].join('\n')
  const safeCode = escapeHtml(code)
  const html = `<!doctype html>
<html lang="en">
  <body style="margin:0;padding:24px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2328;line-height:1.5">
    <p>Hi,</p>
    <p>Here is your Rapport sign-in code:</p>
    <p style="font-size:28px;font-weight:600;letter-spacing:6px;font-family:ui-monospace,Menlo,Consolas,monospace">${safeCode}</p>
    <p>It expires in ${expiry} and works once.</p>
    <p style="color:#59636e">If you didn't ask for this code, you can safely ignore this email: nobody can sign in without it.</p>
    <p>— Rapport</p>
  </body>
</html>
`
  return { subject, text, html }
}
