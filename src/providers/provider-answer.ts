/** Reading a provider's HTTP answer into an outcome's error message. */

// Providers' messages may quote the numbers we sent, and errors are logged and shown to
// admins. Dates (8 digits) and amounts stay readable; phone numbers have at least 9 digits.
const DIGIT_RUN = /\+?\d[\d ().-]{5,}\d/g

/** `source`, then up to 200 characters of the provider's own words, numbers redacted. */
export function describeAnswer(source: string, detail: string): string {
  // Redacted before trimming, so that the cut cannot leave part of a number unmatched.
  const excerpt = detail
    .replace(DIGIT_RUN, (run) => (run.replace(/\D/g, '').length >= 9 ? '<number>' : run))
    .trim()
    .slice(0, 200)
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
