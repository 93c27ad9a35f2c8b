import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import FakeTimers from '@sinonjs/fake-timers'
import { pino } from 'pino'
import t from 'tap'
import { createAlerter, type AlerterOptions, type WindowTimers } from '../../src/alerts/alerter.ts'
import type { AlertEvent } from '../../src/alerts/alert-event.ts'
import { maskPhoneNumber } from '../../src/sms/phone-number.ts'

const silentLog = pino({ level: 'silent' })
const WINDOW_MS = 50

// A full Korean mobile number in E.164, as a raw alert body must never contain it.
const FULL_KR_NUMBER = /\+82\d{9,10}/

interface AlertPayload {
  text: string
  details: {
    dead: number
    expired: number
    deadByErrorCode: Record<string, number>
    providerChanges: unknown[]
    examples: { messageId: string; to: string; errorCode: string | null; error: string | null }[]
  }
}

interface AlertPost {
  raw: string
  body: AlertPayload
  contentType: string | undefined
}

/** What a test needs of tap's Test. */
type TestLike = { teardown(fn: () => unknown): void }

/** `heldUntil`: the answer waits for it, so that a test decides how long a POST is in flight. */
type Answer = { status: number; heldUntil?: Promise<void> } | { hang: true }

/** A Slack-compatible incoming webhook on 127.0.0.1 that records each POST before answering. */
interface FakeAlertEndpoint {
  url: string
  posts: AlertPost[]
  /** Decides each answer; `n` counts POSTs from 1. */
  answer: (n: number) => Answer
  /** Most requests it was holding at once. */
  maxInFlight: number
  /** Resolves once `n` POSTs have arrived (counting from the first). */
  received(n: number): Promise<void>
}

async function startAlertEndpoint(t: TestLike): Promise<FakeAlertEndpoint> {
  const held = new Set<ServerResponse>()
  let inFlight = 0
  const arrivals: { n: number; arrived: () => void }[] = []
  const fake: FakeAlertEndpoint = {
    url: '',
    posts: [],
    answer: () => ({ status: 200 }),
    maxInFlight: 0,
    received: (n) =>
      fake.posts.length >= n ? Promise.resolve() : new Promise<void>((arrived) => arrivals.push({ n, arrived })),
  }
  const server: Server = createServer(async (request: IncomingMessage, response: ServerResponse) => {
    inFlight += 1
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight)
    response.on('close', () => (inFlight -= 1))
    let raw = ''
    for await (const chunk of request) raw += chunk
    fake.posts.push({ raw, body: JSON.parse(raw) as AlertPayload, contentType: request.headers['content-type'] })
    const answer = fake.answer(fake.posts.length)
    for (const arrival of arrivals.filter(({ n }) => fake.posts.length >= n)) {
      arrivals.splice(arrivals.indexOf(arrival), 1)
      arrival.arrived()
    }
    if ('hang' in answer) {
      held.add(response)
      return
    }
    if (answer.heldUntil) await answer.heldUntil
    response.writeHead(answer.status, { 'content-type': 'text/plain' })
    response.end(answer.status < 300 ? 'ok' : 'no')
  })
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/XXXX`
  t.teardown(
    () =>
      new Promise<void>((done) => {
        for (const response of held) response.destroy()
        server.closeAllConnections()
        server.close(() => done())
      }),
  )
  return fake
}

/** A fake clock for the alert window, which stands still until the test moves it. */
function fakeWindowClock() {
  const clock = FakeTimers.createClock(0)
  const timers: WindowTimers = {
    setTimeout: (callback, ms) => clock.setTimeout(callback, ms) as unknown as NodeJS.Timeout,
    clearTimeout: (timer) => clock.clearTimeout(timer as unknown as FakeTimers.TimerId),
  }
  return { clock, timers }
}

/** A logger whose lines the test can await. */
function awaitableLog(level: string) {
  const lines: { level: number; msg: string; alert?: { dead: number } }[] = []
  let logged: () => void
  const firstLine = new Promise<void>((resolve) => (logged = resolve))
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)))
      logged()
      done()
    },
  })
  return { log: pino({ level }, sink), lines, firstLine }
}

function alerter(t: TestLike, options: Partial<AlerterOptions> & { url: string | undefined }) {
  const alerts = createAlerter({ windowMs: WINDOW_MS, log: silentLog, requestTimeoutMs: 2_000, retries: 4, ...options })
  let closed = false
  const close = () => {
    closed = true
    return alerts.close()
  }
  t.teardown(() => (closed ? undefined : alerts.close()))
  return { notify: alerts.notify, close }
}

/** A fictional Korean mobile number, distinct for each index below 1,000,000. */
const koreanNumber = (i: number) => `+821055${String(i).padStart(6, '0')}`

const deadEvent = (i: number, errorCode: string | null): AlertEvent => ({
  kind: 'dead',
  messageId: `msg-${i}`,
  to: koreanNumber(i),
  provider: 'solapi',
  errorCode,
  error:
    errorCode === '21211'
      ? "Twilio error 21211 (HTTP 400): The 'To' number <number> is not a valid phone number."
      : `SOLAPI refused the message with statusCode ${errorCode}: 수신번호 오류`,
})

t.test('a burst of 1,000 dead messages is one POST with exact counts and masked numbers', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  const { clock, timers } = fakeWindowClock()
  // A 1 s window on a fake clock; the burst arrives over 900 ms of it, in ten turns of the event loop.
  const alerts = alerter(t, { url: endpoint.url, windowMs: 1_000, timers })
  const sent: string[] = []
  for (let batch = 0; batch < 10; batch++) {
    if (batch > 0) {
      clock.tick(100)
      await new Promise((turn) => setImmediate(turn))
    }
    for (let i = batch * 100; i < (batch + 1) * 100; i++) {
      sent.push(koreanNumber(i))
      alerts.notify(deadEvent(i, i % 5 < 3 ? '1030' : '21211')) // 600 and 400
    }
  }
  t.equal(clock.countTimers(), 1, 'one window is open, started by the first event')
  t.equal(clock.next(), 1_000, 'it ends 1 s after the first event, not after the last')
  await endpoint.received(1)
  // close() sends whatever is pending: a burst split across windows would show here.
  await alerts.close()
  t.equal(endpoint.posts.length, 1, 'one burst, one POST')

  const [{ raw, body, contentType }] = endpoint.posts
  t.equal(contentType, 'application/json')
  t.type(body.text, 'string')
  t.match(body.text, /^:x: 1000 messages dead: 1030 × 600, 21211 × 400\.$/m)
  t.equal(body.details.dead, 1000)
  t.equal(body.details.expired, 0)
  t.same(body.details.deadByErrorCode, { '1030': 600, '21211': 400 })
  t.same(body.details.providerChanges, [])
  t.ok(body.details.examples.length >= 1 && body.details.examples.length <= 5, 'a few examples, at most 5')
  t.equal(body.details.examples.length, 5)
  body.details.examples.forEach((example, i) => {
    t.equal(example.messageId, `msg-${i}`)
    t.equal(example.to, maskPhoneNumber(koreanNumber(i)))
    t.match(example.to, /^\+82 10-\*{4}-\d{4}$/)
    t.equal(example.errorCode, i % 5 < 3 ? '1030' : '21211')
  })
  t.equal(body.details.examples[0].to, '+82 10-****-0000')
  // Each example shows in the text, masked.
  t.match(body.text, /^• msg-0 to \+82 10-\*\*\*\*-0000: 1030 SOLAPI refused/m)
  t.equal(body.text.split('\n').filter((line) => line.startsWith('• ')).length, 5)

  t.notMatch(raw, FULL_KR_NUMBER, 'no full number in E.164')
  t.notMatch(raw, /\d{9,}/, 'no run of 9 or more digits at all')
  const leaked = sent.filter((number) => raw.includes(number) || raw.includes(number.slice(1)) || raw.includes(`0${number.slice(3)}`))
  t.same(leaked, [], 'none of the 1,000 numbers appears, in any form')
})

t.test('a paused and a later resumed provider each name the provider; the pause names the error code', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  const alerts = alerter(t, { url: endpoint.url })

  const paused: AlertEvent = { kind: 'paused', provider: 'twilio', errorCode: '20003', reason: 'Twilio error 20003 (HTTP 401): Authenticate' }
  alerts.notify(paused)
  await endpoint.received(1)
  const pause = endpoint.posts[0].body
  t.match(pause.text, /^:warning: sms-outbox paused provider twilio \(20003\): Twilio error 20003 \(HTTP 401\): Authenticate\./)
  t.same(pause.details.providerChanges, [paused])
  t.equal(pause.details.dead, 0)
  t.notMatch(pause.text, /messages? dead/)

  // The first POST has left: what comes now is the next window's.
  alerts.notify({ kind: 'resumed', provider: 'twilio', by: 'probe' })
  await endpoint.received(2)
  const resume = endpoint.posts[1].body
  t.equal(resume.text, ':white_check_mark: sms-outbox resumed provider twilio (a probe message went through).')
  t.same(resume.details.providerChanges, [{ kind: 'resumed', provider: 'twilio', by: 'probe' }])

  alerts.notify({ kind: 'resumed', provider: 'solapi', by: 'admin' })
  await endpoint.received(3)
  t.equal(endpoint.posts[2].body.text, ':white_check_mark: sms-outbox resumed provider solapi (by an admin).')

  await alerts.close()
  t.equal(endpoint.posts.length, 3)
})

t.test('events arriving while a POST is in flight go out in a later POST; none is lost', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  // The first POST is held until the test lets it go: the bursts below land while it is in flight.
  let releaseFirst!: () => void
  const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve))
  endpoint.answer = (n) => ({ status: 200, heldUntil: n === 1 ? firstHeld : undefined })
  const alerts = alerter(t, { url: endpoint.url })
  let next = 0
  const burst = (n: number) => {
    for (let i = 0; i < n; i++, next++) alerts.notify(deadEvent(next, next % 2 ? '1030' : null))
  }

  burst(100)
  await endpoint.received(1)
  // The first POST is in flight: these wait for the next window.
  burst(200)
  await new Promise((turn) => setImmediate(turn))
  burst(50)
  releaseFirst()
  await endpoint.received(2)
  t.equal(endpoint.posts[0].body.details.dead, 100, 'the first POST holds the first burst only')
  t.equal(endpoint.posts[1].body.details.dead, 250, 'everything that came during the first POST')
  t.same(endpoint.posts[1].body.details.deadByErrorCode, { unknown: 125, '1030': 125 })
  t.equal(endpoint.posts[1].body.details.examples[0].messageId, 'msg-100')

  // Each burst once the POST before it has arrived: a window, and a POST, of its own.
  for (const [index, size] of [300, 7, 1].entries()) {
    burst(size)
    await endpoint.received(3 + index)
  }
  await alerts.close()

  const total = endpoint.posts.reduce((sum, post) => sum + post.body.details.dead, 0)
  t.equal(next, 658)
  t.equal(total, 658, 'every event notified was in some POST, once')
  const byCode = endpoint.posts.reduce<Record<string, number>>((sum, post) => {
    for (const [code, n] of Object.entries(post.body.details.deadByErrorCode)) sum[code] = (sum[code] ?? 0) + n
    return sum
  }, {})
  t.same(byCode, { unknown: 329, '1030': 329 })
  t.same(endpoint.posts.map((post) => post.body.details.dead), [100, 250, 300, 7, 1], 'one POST per window')
  t.equal(endpoint.maxInFlight, 1, 'never two alert POSTs at once')
})

t.test('a 500 is retried with the same body until a 200', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  endpoint.answer = (n) => ({ status: n <= 2 ? 500 : 200 })
  const alerts = alerter(t, { url: endpoint.url, retries: 4 })
  for (let i = 0; i < 3; i++) alerts.notify(deadEvent(i, '1030'))

  // p-retry waits 500 ms, then 1 s.
  await endpoint.received(3)
  // close() waits for the POST in progress, retries included (up to its 3 s grace):
  // another try after the 200 would arrive before it returns.
  await alerts.close()
  t.equal(endpoint.posts.length, 3, 'the 200 ends it')
  t.equal(endpoint.posts[1].raw, endpoint.posts[0].raw)
  t.equal(endpoint.posts[2].raw, endpoint.posts[0].raw)
  t.equal(endpoint.posts[0].body.details.dead, 3)
})

t.test('a 500 every time: retries + 1 attempts, then the failure is logged', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  endpoint.answer = () => ({ status: 500 })
  const { log, lines, firstLine } = awaitableLog('error')
  const alerts = alerter(t, { url: endpoint.url, retries: 1, log })
  alerts.notify(deadEvent(0, '21211'))

  await firstLine
  t.equal(endpoint.posts.length, 2, 'one try and one retry')
  t.match(lines, [{ level: 50, msg: 'alert could not be delivered', alert: { dead: 1 } }])
  await alerts.close()
  t.equal(endpoint.posts.length, 2)
})

t.test('a 400 is not retried', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  endpoint.answer = () => ({ status: 400 })
  const { log, lines, firstLine } = awaitableLog('error')
  const alerts = alerter(t, { url: endpoint.url, retries: 4, log })
  alerts.notify(deadEvent(0, '21211'))

  // The failure is logged once p-retry gives up: at once for a 400, after 4 retries otherwise.
  await firstLine
  t.match(lines, [{ msg: 'alert could not be delivered' }])
  t.equal(endpoint.posts.length, 1, 'exactly one attempt')
  await alerts.close()
  t.equal(endpoint.posts.length, 1)
})

t.test('an endpoint that hangs never blocks notify, and close gives up on it', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  endpoint.answer = () => ({ hang: true })
  const alerts = alerter(t, { url: endpoint.url, requestTimeoutMs: 60_000, retries: 4 })
  alerts.notify(deadEvent(0, '1030'))
  await endpoint.received(1)

  let notified = 0
  for (let i = 1; i <= 10_000; i++) {
    alerts.notify(deadEvent(i, i % 2 ? '1030' : '21211'))
    notified += 1
  }
  t.equal(notified, 10_000, 'every notify returned while the endpoint hangs')

  // Tap's timeout fails the test if close waits for the endpoint, whose request timeout is a minute.
  await alerts.close()
  t.equal(endpoint.posts.length, 1, 'nothing was sent while the first POST hung')
})

t.test('an endpoint that keeps failing never blocks notify, and close gives up on its retries', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  endpoint.answer = () => ({ status: 503 })
  const alerts = alerter(t, { url: endpoint.url, retries: 10 })
  alerts.notify(deadEvent(0, '1030'))
  await endpoint.received(1)

  let notified = 0
  for (let i = 1; i <= 10_000; i++) {
    alerts.notify({ kind: 'expired', messageId: `msg-${i}`, to: koreanNumber(i) })
    notified += 1
  }
  t.equal(notified, 10_000)
  // Ten retries would take 8.5 minutes (0.5 + 1 + 2 + 4 + 8 + 10 × 5 s): past tap's timeout.
  await alerts.close()
  t.ok(endpoint.posts.length < 11, 'the retries stopped at close')
  t.ok(endpoint.posts.every((post) => post.body.details.dead === 1 && post.body.details.expired === 0))
})

t.test('without a URL, alerting is a no-op whose close resolves', async (t) => {
  const alerts = alerter(t, { url: undefined })
  for (let i = 0; i < 1000; i++) alerts.notify(deadEvent(i, '1030'))
  alerts.notify({ kind: 'paused', provider: 'solapi', errorCode: '3059', reason: 'balance' })
  await t.resolves(alerts.close(), 'close resolves')

  const empty = createAlerter({ url: '', windowMs: WINDOW_MS, log: silentLog })
  empty.notify({ kind: 'expired', messageId: 'msg-0', to: koreanNumber(0) })
  await t.resolves(empty.close(), 'an empty ALERT_WEBHOOK_URL is no URL')
})

t.test('expired messages are counted apart from dead ones', async (t) => {
  const endpoint = await startAlertEndpoint(t)
  const alerts = alerter(t, { url: endpoint.url })
  for (let i = 0; i < 3; i++) alerts.notify(deadEvent(i, '21211'))
  for (let i = 3; i < 10; i++) alerts.notify({ kind: 'expired', messageId: `msg-${i}`, to: koreanNumber(i) })

  await endpoint.received(1)
  const mixed = endpoint.posts[0]
  t.equal(mixed.body.details.dead, 3)
  t.equal(mixed.body.details.expired, 7)
  t.same(mixed.body.details.deadByErrorCode, { '21211': 3 }, 'expired messages are not a dead error code')
  t.match(mixed.body.text, /^:x: 3 messages dead: 21211 × 3\.$/m)
  t.match(mixed.body.text, /^:hourglass: 7 messages expired unsent\.$/m)
  t.same(
    mixed.body.details.examples.map((example) => [example.messageId, example.errorCode]),
    [['msg-0', '21211'], ['msg-1', '21211'], ['msg-2', '21211'], ['msg-3', 'expired'], ['msg-4', 'expired']],
  )
  t.equal(mixed.body.details.examples[4].to, '+82 10-****-0004')
  t.notMatch(mixed.raw, FULL_KR_NUMBER)

  alerts.notify({ kind: 'expired', messageId: 'msg-10', to: koreanNumber(10) })
  await endpoint.received(2)
  const expiredOnly = endpoint.posts[1].body
  t.equal(expiredOnly.details.dead, 0)
  t.equal(expiredOnly.details.expired, 1)
  t.same(expiredOnly.details.deadByErrorCode, {})
  t.equal(
    expiredOnly.text,
    ':hourglass: 1 message expired unsent.\n• msg-10 to +82 10-****-0010: expired not sent before expires_at',
  )
  t.notMatch(expiredOnly.text, /dead/)
  await alerts.close()
})

t.test("numbers quoted in a provider's own words are not shown in full either", async (t) => {
  const endpoint = await startAlertEndpoint(t)
  const alerts = alerter(t, { url: endpoint.url })
  // The webhook provider puts its answer's body in the error as is; such bodies quote the number.
  alerts.notify({
    kind: 'dead',
    messageId: 'msg-0',
    to: koreanNumber(0),
    provider: 'webhook',
    errorCode: 'http_400',
    error: `webhook answered 400: {"error":"${koreanNumber(0)} is not a valid number (also tried 010-5500-0000)"}`,
  })
  alerts.notify({
    kind: 'paused',
    provider: 'webhook',
    errorCode: 'http_403',
    reason: `webhook answered 403: sender ${koreanNumber(1)} is not registered`,
  })

  await endpoint.received(1)
  const { raw, body } = endpoint.posts[0]
  t.notMatch(raw, FULL_KR_NUMBER)
  t.notMatch(raw, /\d{9,}/)
  t.notOk(raw.includes('010-5500-0000'), 'nor in domestic form')
  t.match(body.details.examples[0].error, /^webhook answered 400: .*is not a valid number/)
  t.match(body.text, /paused provider webhook \(http_403\): webhook answered 403: sender .* is not registered/)
  await alerts.close()
})
