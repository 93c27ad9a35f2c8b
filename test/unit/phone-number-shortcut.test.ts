import fc from 'fast-check'
import t from 'tap'
import { normalizeByParsing, normalizePhoneNumber } from '../../src/sms/phone-number.ts'

// normalizePhoneNumber reads Korean 010 numbers without libphonenumber; for every input
// of that shape it must give exactly what parsing gives.
t.test('the Korean 010 shortcut normalises as parsing does, for every input of its shape', async (t) => {
  const shape = fc
    .tuple(
      fc.constantFrom('+82', '0'),
      fc.constantFrom('', '-'),
      fc.stringMatching(/^[0-46-9]\d{3}$/),
      fc.constantFrom('', '-'),
      fc.stringMatching(/^\d{4}$/),
    )
    .map(([prefix, dash1, middle, dash2, last]) => `${prefix}10${dash1}${middle}${dash2}${last}`)
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(shape, (input) => {
        const shortcut = normalizePhoneNumber(input)
        const parsed = normalizeByParsing(input)
        if (shortcut !== parsed) throw new Error(`${input}: ${shortcut} vs ${parsed}`)
      }),
      { numRuns: 10_000 },
    ),
  )
})

t.test('inputs outside the shortcut still go through parsing, and its refusals', async (t) => {
  t.equal(normalizePhoneNumber('+82 10-1234-5678'), '+821012345678')
  t.equal(normalizePhoneNumber('010 1234 5678'), '+821012345678')
  // 0105… numbers are mobile only for some digits after 105: the shortcut leaves them to the parse.
  t.equal(normalizePhoneNumber('010-5012-3456'), normalizeByParsing('010-5012-3456'))
  t.throws(() => normalizePhoneNumber('02-1234-5678'), { name: 'InvalidPhoneNumber', message: /landline/ })
  t.throws(() => normalizePhoneNumber('010-12'), { name: 'InvalidPhoneNumber', message: /not a valid phone number/ })
})
