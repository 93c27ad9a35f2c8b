/** Reading a provider's HTTP answer into an outcome's error message. */
import { redactPhoneNumbers } from '../sms/phone-number.ts'

/**
 * `source`, then up to 200 characters of the provider's own words. Those may quote the
 * number we sent, and errors are logged, stored and shown to admins: numbers are redacted.
 */
export function describeAnswer(source: string, detail: string): string {
  // Redacted before trimming, so that the cut cannot leave part of a number unmatched.
  const excerpt = redactPhoneNumbers(detail).trim().slice(0, 200)
  return excerpt ? `${source}: ${excerpt}` : source
}

/** The answer's JSON object, or undefined for anything else (a proxy's HTML page, nothing). */
export function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
