import { notificationFrequencyValues } from '../../db/schema/profiles'
import { escapeHtml } from '../../lib/http/html'
import type { Frequency, NotificationKind } from './settings-links'

const labels: Record<Frequency, string> = {
  immediately: 'Immediately',
  daily: 'At most daily',
  'every-3-days': 'At most every 3 days',
  weekly: 'At most weekly',
  never: 'Never',
}

const what: Record<NotificationKind, string> = { intros: 'new intros', chats: 'new chat messages' }

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title>
</head>
<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
}

/**
 * The confirmation page behind an email's settings link: the current choice checked, one
 * button that POSTs the form to the same URL (token included). No script.
 */
export function settingsFormPage(kind: NotificationKind, current: Frequency, action: string): string {
  const options = notificationFrequencyValues
    .map(
      (f) =>
        `<p><label><input type="radio" name="frequency" value="${f}"${f === current ? ' checked' : ''}> ${labels[f]}</label></p>`,
    )
    .join('\n')
  return page(
    'Email notifications',
    `<p>How often should Rapport email you about ${what[kind]}?</p>
<form method="post" action="${escapeHtml(action)}">
${options}
<button type="submit">Save</button>
</form>`,
  )
}

/** After a POST: what is now in force. */
export function settingsSavedPage(kind: NotificationKind, frequency: Frequency): string {
  const text =
    frequency === 'never'
      ? `You will no longer get emails about ${what[kind]}.`
      : `Emails about ${what[kind]}: ${labels[frequency].toLowerCase()}.`
  return page('Saved', `<p>${escapeHtml(text)}</p><p>You can change this any time in the app's settings.</p>`)
}
