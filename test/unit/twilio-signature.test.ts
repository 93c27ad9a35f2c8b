import fc from 'fast-check'
import t from 'tap'
import twilio from 'twilio'
import { isTwilioSignatureValid, twilioSignature } from '../../src/providers/twilio-status-callback.ts'

// The official package's validator is the oracle: what it accepts is what Twilio signs.
const url = fc.constantFrom(
  'https://sms.example.test/v1/receipts/twilio',
  'https://sms.example.test:443/outbox/v1/receipts/twilio',
  'http://10.0.0.5:8080/v1/receipts/twilio?tenant=a',
  'https://sms.example.test/v1/receipts/twilio?x=%27quoted%27',
)
const params = fc.dictionary(
  fc.string({ minLength: 1, maxLength: 12 }).filter((key) => !['__proto__', 'constructor'].includes(key)),
  fc.oneof(fc.string({ maxLength: 20 }), fc.array(fc.string({ maxLength: 8 }), { minLength: 1, maxLength: 3 })),
  { maxKeys: 8 },
)

t.test("our signature is the one the official twilio package computes and validates", async (t) => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), url, params, (token, at, form) => {
      const ours = twilioSignature(token, at, form)
      return ours === twilio.getExpectedTwilioSignature(token, at, form) && twilio.validateRequest(token, ours, at, form)
    }),
  )
})

t.test('we accept exactly what twilio.validateRequest accepts, for real and forged signatures', async (t) => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 40 }), url, params, fc.boolean(), fc.string(), (token, at, form, forge, junk) => {
      const signature = forge ? junk : twilio.getExpectedTwilioSignature(token, at, form)
      return isTwilioSignatureValid(token, signature, at, form) === twilio.validateRequest(token, signature, at, form)
    }),
  )
  const form = { MessageSid: 'SM1', MessageStatus: 'delivered' }
  const signedWithPort = twilio.getExpectedTwilioSignature('token', 'https://sms.example.test:443/v1/receipts/twilio', form)
  t.ok(isTwilioSignatureValid('token', signedWithPort, 'https://sms.example.test/v1/receipts/twilio', form), 'Twilio may sign with the default port')
  t.notOk(isTwilioSignatureValid('token', undefined, 'https://sms.example.test/v1/receipts/twilio', form), 'a missing header')
  t.notOk(isTwilioSignatureValid('other', signedWithPort, 'https://sms.example.test/v1/receipts/twilio', form), 'another token')
})
