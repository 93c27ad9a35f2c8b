import fc from 'fast-check'
import { getCountries, getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max'
import mobileExamples from 'libphonenumber-js/mobile/examples'
import t from 'tap'
import { withoutMessage } from '../../src/providers/provider-answer.ts'
import type { SendOutcome } from '../../src/providers/provider.ts'

const failure = (errorMessage: string): SendOutcome => ({ kind: 'permanent', errorCode: 'x', errorMessage })
const scrubbed = (errorMessage: string, message: { to: string; text: string }) => {
  const outcome = withoutMessage(failure(errorMessage), message)
  return outcome.kind === 'ok' ? '' : outcome.errorMessage
}

// Korean mobiles (010, 011, 016-019 ranges) and every country's mobile example.
const koreanMobile = fc
  .tuple(fc.constantFrom('0', '1', '2', '3', '4', '6', '7', '8', '9'), fc.stringMatching(/^\d{7}$/))
  .map(([third, rest]) => ({ callingCode: '82', national: `10${third}${rest}` }))
const exampleMobiles = getCountries().flatMap((country) => {
  const example = getExampleNumber(country, mobileExamples)
  const parsed = example && parsePhoneNumberFromString(example.number)
  return parsed ? [{ callingCode: parsed.countryCallingCode as string, national: parsed.nationalNumber as string }] : []
})
const anyMobile = fc.oneof(koreanMobile, fc.constantFrom(...exampleMobiles))
const separator = fc.constantFrom('', ' ', '-', '.', '_', '/', ' - ', '(', ') ', '\u00a0', ':')
// Words around the number with no digit in them: whatever digits remain came from the number.
const words = fc.string({ unit: fc.constantFrom(...'abc XYZ:,"\'{}[]=가나다'.split('')), maxLength: 40 })

/** The number as someone may have written it: digits, any separators, with or without +82 and 0. */
const writtenNumber = anyMobile.chain(({ callingCode, national }) =>
  fc
    .record({
      country: fc.constantFrom('', '+', 'bare'),
      trunk: fc.boolean(),
      gaps: fc.array(separator, { minLength: national.length + 2, maxLength: national.length + 2 }),
    })
    .map(({ country, trunk, gaps }) => {
      let written = ''
      if (country) written += `${country === '+' ? '+' : ''}${callingCode}${gaps[0]}`
      if (trunk) written += `0${gaps[1]}`
      written += [...national].map((digit, i) => (i === 0 ? digit : `${gaps[i + 1]}${digit}`)).join('')
      return { e164: `+${callingCode}${national}`, written }
    }),
)

t.test('property: no written form of the number survives, with or without country code and leading 0', async (t) => {
  fc.assert(
    fc.property(writtenNumber, words, words, ({ e164, written }, before, after) => {
      const result = scrubbed(`provider said: ${before}${written}${after}`, { to: e164, text: 'hello there' })
      // At most a country code may be left (`+82` before a redacted `(0)10...`): nothing to text.
      return result.replace(/\D/g, '').length <= 3
    }),
    { numRuns: 2_000 },
  )
})

t.test('the forms the brief lists, one by one', async (t) => {
  const to = '+821012345678'
  for (const written of ['+821012345678', '01012345678', '010-1234-5678', '010_1234_5678', '82/10/1234/5678', '010 1234 5678', '010.1234.5678', '+82 (0)10 1234 5678', '1012345678']) {
    t.equal(scrubbed(`refused ${written}, sorry`, { to, text: 'hi there' }), 'refused <number>, sorry', written)
  }
  t.equal(scrubbed('order 12345678 failed on 2026-11-29', { to, text: 'hi there' }), 'order 12345678 failed on 2026-11-29', 'other numbers are left alone')
})

const textUnit = fc.constantFrom(...'abcdefgh XYZ.,!?가나다라마바사안녕하세요\n"'.split(''))

t.test('property: the text is removed whether quoted whole, JSON-escaped, URL-encoded or cut short', async (t) => {
  fc.assert(
    fc.property(
      fc.string({ unit: textUnit, minLength: 3, maxLength: 400 }).filter((text) => text.trim().length >= 3),
      fc.constantFrom('whole', 'json', 'url', 'start'),
      words,
      (text, quoting, before) => {
        const quoted =
          quoting === 'json' ? JSON.stringify(text) : quoting === 'url' ? encodeURIComponent(text) : quoting === 'start' ? text.slice(0, 16) + '...' : text
        const result = scrubbed(`refused ${before}${quoted} (spam)`, { to: '+821012345678', text })
        const left = quoting === 'start' ? text.slice(0, 16) : text
        return !result.includes(left) && result.length <= 200
      },
    ),
    { numRuns: 1_000 },
  )
})

t.test('the text, the number and the cut, together: in that order, and 200 characters at most', async (t) => {
  const text = `Your verification code is 482913. ${'Details follow. '.repeat(20)}`
  const answer = `{"error":"message \\"${JSON.stringify(text).slice(1, -1)}\\" to 010_1234_5678 refused"}`
  const result = scrubbed(answer, { to: '+821012345678', text })
  t.equal(result, '{"error":"message \\"<text>\\" to <number> refused"}')
  const long = scrubbed(`${'x'.repeat(300)} 010_1234_5678`, { to: '+821012345678', text: 'hi there' })
  t.equal(long.length, 200)
  const ok: SendOutcome = { kind: 'ok', providerMessageId: 'm1' }
  t.equal(withoutMessage(ok, { to: '+821012345678', text: 'x' }), ok)
})

t.test('what PostgreSQL cannot store is replaced: NUL, half a surrogate pair, and a pair the cut split', async (t) => {
  const message = { to: '+821012345678', text: 'hi there' }
  const outcome = withoutMessage({ kind: 'permanent', errorCode: 'E\u0000', errorMessage: 'bad \u0000 and \ud800 here 😀' }, message)
  t.match(outcome, { errorCode: 'E\ufffd', errorMessage: 'bad \ufffd and \ufffd here 😀' }, 'a whole pair stays')
  // 199 characters, then the high half of an emoji where the cut falls.
  const cutInPair = scrubbed(`${'x'.repeat(198)}😀 tail`, message)
  t.equal(cutInPair, `${'x'.repeat(198)}\ufffd…`)
  t.match(withoutMessage({ kind: 'ok', providerMessageId: 'M\u0000\udc00' }, message), { kind: 'ok', providerMessageId: 'M\ufffd\ufffd' })
})
