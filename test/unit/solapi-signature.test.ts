import { createHmac } from 'node:crypto'
import t from 'tap'
import { formatISO } from 'date-fns'
import { solapiAuthorization } from '../../src/providers/solapi-signature.ts'

const FIELDS = /^HMAC-SHA256 apiKey=(\S+), date=(\S+), salt=([0-9a-f]+), signature=([0-9a-f]{64})$/

t.test('signs date + salt with the secret, in the header format SOLAPI documents', async (t) => {
  const now = new Date('2026-03-01T09:30:00.123Z')
  const salt = 'a1b2c3d4e5f60718293a4b5c6d7e8f90'
  // Computed here, independently of the module: hex HMAC-SHA256(key = secret, data = date + salt).
  const expected = createHmac('sha256', 'test-secret').update(`2026-03-01T09:30:00Z${salt}`).digest('hex')
  t.equal(
    solapiAuthorization('NCSTESTKEY', 'test-secret', now, salt),
    `HMAC-SHA256 apiKey=NCSTESTKEY, date=2026-03-01T09:30:00Z, salt=${salt}, signature=${expected}`,
  )
  t.not(
    solapiAuthorization('NCSTESTKEY', 'other-secret', now, salt),
    solapiAuthorization('NCSTESTKEY', 'test-secret', now, salt),
    'the secret is part of the signature',
  )
})

t.test('each call has a new salt and so a new signature, even within the same millisecond', async (t) => {
  const now = new Date()
  const [first, second] = [1, 2].map(() => FIELDS.exec(solapiAuthorization('NCSTESTKEY', 'test-secret', now)))
  t.ok(first && second, 'both match the header format')
  t.equal(first![2], second![2], 'same date')
  t.equal(first![3].length, 32, '16 random bytes, in the 12-64 SOLAPI allows')
  t.not(first![3], second![3], 'different salts')
  t.not(first![4], second![4], 'different signatures')
})

t.test('the date is whole seconds, as every SOLAPI SDK sends it (solapi 6.0.1: date-fns formatISO)', async (t) => {
  const now = new Date('2026-12-06T07:41:02.987Z')
  const date = FIELDS.exec(solapiAuthorization('NCSTESTKEY', 'test-secret', now))![2]
  // formatISO writes the local offset; the SDK's date and ours are the same instant, to the second.
  const sdkDate = formatISO(now)
  t.match(sdkDate, /T\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/, 'the SDK sends no fraction of a second')
  t.equal(date, '2026-12-06T07:41:02Z')
  t.equal(Date.parse(date), Date.parse(sdkDate))
})
