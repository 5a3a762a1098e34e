import { z } from '@hono/zod-openapi'
import {
  ethnicityValues,
  frequencyValues,
  genderValues,
  lookingForValues,
  notificationFrequencyValues,
  orientationValues,
  relationshipStatusValues,
  religionValues,
  starSignValues,
  unitsValues,
  verificationLevelValues,
  yesNoMaybeValues,
  yesNoValues,
} from '../../db/schema'
import { ApiError } from '../../lib/http/errors'
import { checkProfileText } from '../moderation/text-rules'
import { ageOn } from '../search/geo'

/**
 * The value schemas of profile fields, shared by onboarding, profile editing and the OpenAPI
 * document. Enumerations are the database enums (src/db/schema/profiles.ts), so a value is
 * declared once.
 */

export const GenderSchema = z.enum(genderValues).openapi('Gender')
export const OrientationSchema = z.enum(orientationValues).openapi('Orientation')
export const EthnicitySchema = z.enum(ethnicityValues).openapi('Ethnicity')
export const LookingForSchema = z.enum(lookingForValues).openapi('LookingFor')
export const YesNoSchema = z.enum(yesNoValues).openapi('YesNo')
export const YesNoMaybeSchema = z.enum(yesNoMaybeValues).openapi('YesNoMaybe')
export const FrequencySchema = z.enum(frequencyValues).openapi('Frequency')
export const RelationshipStatusSchema = z.enum(relationshipStatusValues).openapi('RelationshipStatus')
export const ReligionSchema = z.enum(religionValues).openapi('Religion')
export const StarSignSchema = z.enum(starSignValues).openapi('StarSign')
export const UnitsSchema = z.enum(unitsValues).openapi('Units')
export const NotificationFrequencySchema = z
  .enum(notificationFrequencyValues)
  .openapi('NotificationFrequency')
export const VerificationLevelSchema = z.enum(verificationLevelValues).openapi('VerificationLevel')

/** Display names: trimmed, inner whitespace collapsed, 1–64 characters. */
export const NameSchema = z
  .string()
  .transform((v) => v.normalize('NFC').trim().replace(/\s+/g, ' '))
  .pipe(z.string().min(1, 'must not be empty').max(64, 'must be at most 64 characters'))
  .openapi({ type: 'string', minLength: 1, maxLength: 64, example: 'Alex' })

/** Occupation and education: 1–64 characters, or null to clear. */
export const ShortTextSchema = z
  .string()
  .transform((v) => v.normalize('NFC').trim().replace(/\s+/g, ' '))
  .pipe(z.string().min(1, 'must not be empty (send null to clear)').max(64, 'must be at most 64 characters'))
  .nullable()
  .openapi({ type: 'string', minLength: 1, maxLength: 64 })

export const AboutSchema = z
  .string()
  .transform((v) => v.normalize('NFC').trim())
  .pipe(z.string().max(10_000, 'must be at most 10,000 characters'))
  .openapi({ type: 'string', maxLength: 10_000 })

/** A calendar date, YYYY-MM-DD, that exists. */
export const DateOfBirthSchema = z.iso.date().openapi({ example: '1995-06-15' })

export const minimumAge = 18
export const maximumAge = 120

/**
 * Refuse a date of birth making the member under 18 (or implausibly old), as a 422 on `path`.
 *
 * @example
 * assertAdult('2012-01-01', s.clock.now(), 'json.dateOfBirth') // throws validation_failed
 */
export function assertAdult(dateOfBirth: string, now: Date, path: string): number {
  const age = ageOn(dateOfBirth, now)
  if (age < minimumAge) {
    throw fieldError(path, `You must be at least ${minimumAge} years old`)
  }
  if (age > maximumAge) throw fieldError(path, 'Check the year of birth')
  return age
}

/** A 422 naming one field. */
export function fieldError(path: string, message: string): ApiError {
  return new ApiError('validation_failed', message, { errors: [{ path, message }] })
}

/**
 * Run the text rules (slurs; in `about` also links, contact details and solicitation) and
 * refuse with a 422 on `path` naming why.
 */
export function assertAcceptableText(
  kind: 'name' | 'about' | 'occupation' | 'education',
  value: string | null | undefined,
  path: string,
): void {
  if (value === null || value === undefined || value === '') return
  const verdict = checkProfileText(kind, value)
  if (!verdict.ok) throw fieldError(path, verdict.message)
}
