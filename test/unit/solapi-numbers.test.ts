import fc from 'fast-check'
import t from 'tap'
import { parsedSolapiRecipient, solapiRecipient } from '../../src/providers/solapi-numbers.ts'

t.test('the Korean mobile shortcut gives what parsing gives, for every number of its shape', async (t) => {
  const koreanMobile = fc
    .tuple(fc.constantFrom('0', '1', '6', '7', '8', '9'), fc.stringMatching(/^\d{7,8}$/))
    .map(([carrier, rest]) => `+821${carrier}${rest}`)
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(koreanMobile, (e164) => {
        const shortcut = solapiRecipient(e164)
        const parsed = parsedSolapiRecipient(e164)
        if (JSON.stringify(shortcut) !== JSON.stringify(parsed)) {
          throw new Error(`${e164}: ${JSON.stringify(shortcut)} vs ${JSON.stringify(parsed)}`)
        }
      }),
      { numRuns: 5_000 },
    ),
  )
  // The shortcut really is taken: it answers even where parsing would not be asked.
  t.same(solapiRecipient('+821012345678'), { to: '01012345678' })
})

t.test('other numbers go through parsing', async (t) => {
  t.same(solapiRecipient('+8221234567'), { to: '021234567' }, 'a Seoul landline')
  t.same(solapiRecipient('+8215881234'), { to: '15881234' }, 'a 1588 number has no trunk 0')
  t.same(solapiRecipient('+12025550123'), { to: '2025550123', country: '1' })
  t.equal(solapiRecipient('not-a-number-1234'), undefined)
})
