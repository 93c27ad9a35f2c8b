// What every provider adapter does when the call itself fails, whatever the provider:
// a hang is cut at the timeout and may have sent (ambiguous), a reset after the request
// was read may have sent (ambiguous), a refused connection sent nothing (retryable).
// Each runs against its own fake, a real HTTP server speaking that provider's protocol.
import { createServer } from 'node:net'
import t from 'tap'
import type { SmsProvider } from '../../src/providers/provider.ts'
import { createSolapiProvider } from '../../src/providers/solapi-provider.ts'
import { createTwilioProvider } from '../../src/providers/twilio-provider.ts'
import { createWebhookProvider } from '../../src/providers/webhook-provider.ts'
import type { FakeReply } from '../helpers/fake-webhook.ts'
import { startFakeSolapi } from '../helpers/fake-solapi.ts'
import { startFakeTwilio } from '../helpers/fake-twilio.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'

type Teardown = { teardown(fn: () => unknown): void }
interface Fake {
  reply: (...args: never[]) => FakeReply
  ledger: unknown[]
}

const solapiCredentials = { apiKey: 'NCSTRANSPORT01', apiSecret: 'TRANSPORTSECRET0123456789ABCDEF' }
const twilioAccount = { accountSid: 'AC00000000000000000000000000000009', authToken: 'transport-token' }

/** Each adapter: on a fake, and on an address where nothing listens. */
const PROVIDERS: {
  name: string
  onFake(t: Teardown): Promise<{ fake: Fake; provider: SmsProvider }>
  at(baseUrl: string): SmsProvider
}[] = [
  {
    name: 'webhook',
    async onFake(t) {
      const fake = await startFakeWebhook(t)
      return { fake, provider: createWebhookProvider(fake.url) }
    },
    at: (baseUrl) => createWebhookProvider(`${baseUrl}/sms`),
  },
  {
    name: 'solapi',
    async onFake(t) {
      const fake = await startFakeSolapi(t, solapiCredentials)
      return { fake, provider: createSolapiProvider({ ...solapiCredentials, baseUrl: fake.baseUrl, from: '02-1234-5678' }) }
    },
    at: (baseUrl) => createSolapiProvider({ ...solapiCredentials, baseUrl, from: '02-1234-5678' }),
  },
  {
    name: 'twilio',
    async onFake(t) {
      const fake = await startFakeTwilio(t, twilioAccount)
      return { fake, provider: createTwilioProvider({ ...twilioAccount, baseUrl: fake.baseUrl, from: '+15005550006' }) }
    },
    at: (baseUrl) => createTwilioProvider({ ...twilioAccount, baseUrl, from: '+15005550006' }),
  },
]

const sms = { id: '6c1f6f8e-4a39-4b8e-9a57-3f1c2b7d9e10', to: '+821012345678', text: 'hello', type: 'SMS' as const }

/** A port nothing listens on: bound, then closed. */
const closedPort = () =>
  new Promise<number>((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => done(port))
    })
  })

for (const { name, onFake, at } of PROVIDERS) {
  t.test(`${name}: a hung provider is aborted at the timeout, ambiguous; the request did arrive`, async (t) => {
    const { fake, provider } = await onFake(t)
    t.teardown(() => provider.close?.())
    fake.reply = () => ({ hang: true })
    t.match(await provider.send(sms, AbortSignal.timeout(300)), { kind: 'ambiguous', errorCode: 'timeout' })
    t.equal(fake.ledger.length, 1)
  })

  t.test(`${name}: a reset after the request was read is ambiguous, not a timeout`, async (t) => {
    const { fake, provider } = await onFake(t)
    t.teardown(() => provider.close?.())
    fake.reply = () => ({ reset: true })
    const outcome = await provider.send(sms, AbortSignal.timeout(10_000))
    t.match(outcome, { kind: 'ambiguous', errorMessage: /may have sent it/ })
    t.not(outcome.kind === 'ambiguous' && outcome.errorCode, 'timeout')
    t.equal(fake.ledger.length, 1)
  })

  t.test(`${name}: a refused connection is retryable: nothing was sent`, async (t) => {
    const provider = at(`http://127.0.0.1:${await closedPort()}`)
    t.teardown(() => provider.close?.())
    t.match(await provider.send(sms, AbortSignal.timeout(10_000)), { kind: 'retryable', errorCode: 'ECONNREFUSED' })
  })
}
