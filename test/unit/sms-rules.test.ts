import t from 'tap'
import { LMS_MAX_BYTES, measureText, UnsendableText } from '../../src/sms/message-encoding.ts'
import { getCountries, getExampleNumber, parsePhoneNumberFromString } from 'libphonenumber-js/max'
import mobileExamples from 'libphonenumber-js/mobile/examples'
import { InvalidPhoneNumber, maskPhoneNumber, normalizePhoneNumber, redactPhoneNumbers } from '../../src/sms/phone-number.ts'

t.test('phone numbers: E.164 and Korean domestic forms normalise to E.164', async (t) => {
  for (const input of ['+821012345678', '010-1234-5678', '01012345678', '+82 10 1234 5678', '010.1234.5678']) {
    t.equal(normalizePhoneNumber(input), '+821012345678', input)
  }
  t.equal(normalizePhoneNumber('+14155552671'), '+14155552671')
})

t.test('phone numbers: what cannot be texted is refused with a reason', async (t) => {
  for (const input of ['12345', '+8210', 'abc', '', '010-1234-56789012', '+0000000000']) {
    t.throws(() => normalizePhoneNumber(input), InvalidPhoneNumber, JSON.stringify(input))
  }
  t.throws(() => normalizePhoneNumber('02-312-3456'), { message: /landline/ })
})

t.test('phone numbers: only ASCII digits, +, spaces, -, . and parentheses are read; look-alikes are refused, masked', async (t) => {
  const refused = ['０１０-１２３４-５６７８', '＋８２１０１２３４５６７８', '٠١٠١٢٣٤٥٦٧٨', '۰۱۰۱۲۳۴۵۶۷۸', '010-1234-5678\u0000', '+8210\u00001234\u00005678', '010\u00a01234\u00a05678', '010/1234/5678']
  for (const input of refused) {
    const error = t.throws(() => normalizePhoneNumber(input), InvalidPhoneNumber, JSON.stringify(input)) as Error
    t.notMatch(error.message, /1234|１２３４|١٢٣٤|۱۲۳۴/, `${JSON.stringify(input)} is not echoed`)
  }
  for (const input of ['(010) 1234-5678', '+82 (10) 1234.5678', '010 1234 5678']) {
    t.equal(normalizePhoneNumber(input), '+821012345678', input)
  }
})

t.test('phone numbers: masked to country code, two leading and four trailing digits', async (t) => {
  t.equal(maskPhoneNumber('+821012345678'), '+82 10-****-5678')
  t.equal(maskPhoneNumber('+14155552671'), '+1 41-****-2671')
  t.notMatch(maskPhoneNumber('+821012345678'), /1234/)
})

t.test("masking finds the country code without parsing: the same as parsing, for every country's mobile example", async (t) => {
  for (const country of getCountries()) {
    const example = getExampleNumber(country, mobileExamples)
    if (!example) continue
    const parsed = parsePhoneNumberFromString(example.number)!
    const national = parsed.nationalNumber
    const expected =
      national.length < 7
        ? undefined
        : `+${parsed.countryCallingCode} ${national.slice(0, 2)}-${'*'.repeat(national.length - 6)}-${national.slice(-4)}`
    if (expected) t.equal(maskPhoneNumber(example.number), expected, country)
  }
  t.equal(maskPhoneNumber('+80012345678'), '+800 12-**-5678', 'a non-geographic code falls back to parsing')
  t.equal(maskPhoneNumber('not a number 0101234'), 'not a number *****34')
})

t.test('an invalid number is never echoed whole in the error', async (t) => {
  const error = t.throws(() => normalizePhoneNumber('010-9876-543210'), InvalidPhoneNumber) as Error
  t.notMatch(error.message, /9876/)
  t.match(error.message, /10$|\*10"/)
})

t.test('text: EUC-KR bytes choose SMS or LMS', async (t) => {
  t.same(measureText('hello'), { type: 'SMS', bytes: 5 })
  t.same(measureText('안녕하세요'), { type: 'SMS', bytes: 10 })
  t.same(measureText('a'.repeat(90)), { type: 'SMS', bytes: 90 })
  t.same(measureText('a'.repeat(91)), { type: 'LMS', bytes: 91 })
  t.same(measureText('가'.repeat(45)), { type: 'SMS', bytes: 90 })
  t.same(measureText('가'.repeat(46)), { type: 'LMS', bytes: 92 })
  t.same(measureText('가'.repeat(1000)), { type: 'LMS', bytes: LMS_MAX_BYTES })
})

t.test('text: too long, empty, emoji or control characters are refused with a reason', async (t) => {
  t.throws(() => measureText('가'.repeat(1001)), { message: /2002 bytes.*limit is 2000/ })
  t.throws(() => measureText(''), UnsendableText)
  t.throws(() => measureText('hi 😀'), { message: /U\+1F600 at position 3/ })
  t.throws(() => measureText('a\u0000b'), { message: /control character at position 1/ })
  t.same(measureText('line\nbreak\ttab'), { type: 'SMS', bytes: 14 })
})

t.test('redaction: number-like runs of 9+ digits go, dates and amounts stay', async (t) => {
  t.equal(
    redactPhoneNumbers('+821012345678 and 010-1234-5678 and (02) 312-3456 failed on 2026-11-29, 1,000 won'),
    '<number> and <number> and <number> failed on 2026-11-29, 1,000 won',
  )
  t.equal(redactPhoneNumbers('no numbers here'), 'no numbers here')
})
