import { getCountries, getCountryCallingCode, parsePhoneNumberFromString } from 'libphonenumber-js/max'

/** Why a string is not a number we can text. */
export class InvalidPhoneNumber extends Error {
  override name = 'InvalidPhoneNumber'
}

/**
 * E.164 form of `input`, which may be E.164 (`+821012345678`) or a Korean domestic
 * number (`010-1234-5678`, `01012345678`). Throws InvalidPhoneNumber with the reason.
 */
export function normalizePhoneNumber(input: string): string {
  const korean = KOREAN_010.exec(input)
  return korean ? `+8210${korean[1]}${korean[2]}` : normalizeByParsing(input)
}

/**
 * What a typed phone number is made of: ASCII digits, `+`, spaces, `-`, `.` and
 * parentheses. libphonenumber reads full-width (０１０) and Arabic-Indic digits as digits
 * and skips a NUL, so such input was accepted as a number that no one typed.
 */
const PHONE_INPUT_CHARACTERS = /^[0-9+ ().-]*$/

/**
 * The commonest input, a Korean 010 mobile number (`010-1234-5678`, `01012345678`,
 * `+821012345678`), needs no metadata to be read: libphonenumber's Korean mobile pattern
 * takes every 10-digit national number `10[0-46-9]…`, and no other type starts with 10.
 * Parsing was a fifth of the batch route's CPU (bench --cpu-prof);
 * test/unit/phone-number-shortcut.test.ts holds this to the parse.
 */
const KOREAN_010 = /^(?:\+82|0)10-?([0-46-9]\d{3})-?(\d{4})$/

/** `normalizePhoneNumber` for any input, through libphonenumber's full metadata. */
export function normalizeByParsing(input: string): string {
  if (!PHONE_INPUT_CHARACTERS.test(input)) {
    throw new InvalidPhoneNumber(
      `"${maskRaw(input)}" is not a valid phone number: use only the digits 0-9, +, spaces, -, . and parentheses`,
    )
  }
  const parsed = parsePhoneNumberFromString(input, 'KR')
  if (!parsed || !parsed.isValid()) {
    throw new InvalidPhoneNumber(
      `"${maskRaw(input)}" is not a valid phone number: use E.164 (+821012345678) or a Korean mobile number (010-1234-5678)`,
    )
  }
  // Texting a landline fails at every provider; say so now rather than after retries.
  if (parsed.getType() === 'FIXED_LINE') {
    throw new InvalidPhoneNumber(`${maskPhoneNumber(parsed.number)} is a landline; SMS needs a mobile number`)
  }
  return parsed.number
}

/**
 * The form logs, lists and alerts show: country code, the first two and the last four
 * digits (`+82 10-****-5678`). Enough to tell numbers apart, too little to text one.
 */
export function maskPhoneNumber(e164: string): string {
  const parts = partsOf(e164)
  return parts ? maskNational(parts.callingCode, parts.national) : maskRaw(e164)
}

/** An E.164 number's country calling code and national number; undefined for anything else. */
function partsOf(e164: string): { callingCode: string; national: string } | undefined {
  // Every answer and list masks its numbers, and parsing one again (a fifth of the batch
  // route's CPU, bench --cpu-prof) only finds where the country code ends. Calling codes
  // are prefix-free (ITU E.164), so the one 1-3 digit prefix that is a code is the code.
  const digits = E164.exec(e164)?.[1]
  const code = digits && [1, 2, 3].map((length) => digits.slice(0, length)).find((prefix) => CALLING_CODES.has(prefix))
  if (code) return { callingCode: code, national: digits.slice(code.length) }
  const parsed = parsePhoneNumberFromString(e164)
  return parsed ? { callingCode: parsed.countryCallingCode, national: parsed.nationalNumber } : undefined
}

const E164 = /^\+(\d{8,15})$/
const CALLING_CODES = new Set(getCountries().map((country) => getCountryCallingCode(country)))

function maskNational(callingCode: string, national: string): string {
  if (national.length < 7) return `+${callingCode} ${maskRaw(national)}`
  const hidden = '*'.repeat(national.length - 6)
  return `+${callingCode} ${national.slice(0, 2)}-${hidden}-${national.slice(-4)}`
}

/** Masks every digit but the last two of something that did not parse as a number. */
function maskRaw(input: string): string {
  const shown = input.slice(0, 40)
  // Every script's digits: a full-width or Arabic-Indic number is refused, but not echoed.
  let digitsLeft = shown.replace(/\P{Nd}/gu, '').length
  return shown.replace(/\p{Nd}/gu, (digit) => (--digitsLeft < 2 ? digit : '*'))
}

// Dates (8 digits) and amounts stay readable; phone numbers have at least 9 digits.
const DIGIT_RUN = /[+(]?\d[\d ().-]{5,}\d/g

/**
 * `text` with every phone-number-like run of digits replaced by `<number>`: for words we
 * did not write (a provider's error answer) before they reach logs, rows or alerts.
 */
export function redactPhoneNumbers(text: string): string {
  return text.replace(DIGIT_RUN, (run) => (run.replace(/\D/g, '').length >= 9 ? '<number>' : run))
}

// Between two digits of a written number: nothing, or up to three other characters (`-`,
// `_`, `/`, `.`, spaces, `) `). Not \p{L} or the like: a Unicode property class took
// 25 ms to compile, once per number.
const SEPARATOR = '\\D{0,3}'

/**
 * `text` with the number `recipient` (as messages store it: E.164) replaced by `<number>`
 * in every way it may be written: `+821012345678`, `821012345678`, `01012345678`,
 * `010-1234-5678`, `010_1234_5678`, `82/10/1234/5678`, `+82 (0)10 1234 5678`: its
 * national digits with any separators between them, with or without the country code
 * and the leading 0. redactPhoneNumbers catches numbers in general; this one also
 * catches the forms it must leave alone in general (underscores, slashes).
 */
export function redactNumber(text: string, recipient: string): string {
  const parts = partsOf(recipient)
  const national = parts?.national ?? recipient.replace(/\D/g, '')
  if (national.length < 4) return text
  const country = parts ? `(?:\\+?${parts.callingCode}${SEPARATOR})?` : ''
  const pattern = `${country}(?:0${SEPARATOR})?${[...national].join(SEPARATOR)}`
  return text.replace(new RegExp(pattern, 'g'), '<number>')
}
