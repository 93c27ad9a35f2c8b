/** Phone numbers as SOLAPI takes them: Korean ones in domestic digits, others with a country. */
import { parsePhoneNumber, type PhoneNumber } from 'libphonenumber-js/max'

export interface SolapiRecipient {
  to: string
  country?: string
}

/**
 * Korean mobile numbers (010, 011, 016-019), most of what a Korean service sends: their
 * domestic form is a trunk 0 and the national number, with no need to parse. Parsing
 * with libphonenumber's full metadata was 8% of the dispatcher's busy time in a profile
 * of bench/'s dispatch-many; test/unit/solapi-numbers.test.ts holds this shortcut to the
 * parse for every number of this shape.
 */
const KOREAN_MOBILE = /^\+821[016-9]\d{7,8}$/

/** An E.164 number (enqueue normalised it) as SOLAPI's `to` and `country`; undefined if unreadable. */
export function solapiRecipient(e164: string): SolapiRecipient | undefined {
  return KOREAN_MOBILE.test(e164) ? { to: `0${e164.slice(3)}` } : parsedSolapiRecipient(e164)
}

/** `solapiRecipient` for any number, through libphonenumber. */
export function parsedSolapiRecipient(e164: string): SolapiRecipient | undefined {
  let phone: PhoneNumber
  try {
    phone = parsePhoneNumber(e164)
  } catch {
    return undefined
  }
  if (phone.countryCallingCode === '82') return { to: domesticForm(phone) }
  return { to: phone.nationalNumber, country: phone.countryCallingCode }
}

/** SOLAPI matches the sender against its registered numbers, which are domestic digits. */
export function solapiSender(configured: string): string {
  const compact = configured.replace(/[\s-]/g, '')
  return compact.startsWith('+82') ? domesticForm(parsePhoneNumber(compact)) : compact
}

/** `+821012345678` → `01012345678`; `+8215881234` → `15881234` (no trunk 0 on 1588 numbers). */
function domesticForm(phone: PhoneNumber): string {
  return phone.formatNational().replace(/\D/g, '')
}
