import { once } from 'node:events'
import t from 'tap'
import { CallDeadlines } from '../../src/outbox/dispatch/call-deadlines.ts'

t.test('calls within a hundredth of the timeout share a signal; a later call gets a new one', async (t) => {
  let now = 0
  const deadlines = new CallDeadlines(1_000, () => now)
  const first = deadlines.next()
  now = 9.9
  t.equal(deadlines.next(), first, 'started 9.9 ms later: the same signal, so it has 99% of its timeout')
  now = 10
  const second = deadlines.next()
  t.not(second, first, 'started 10 ms later: a signal of its own')
  now = 15
  t.equal(deadlines.next(), second)
})

t.test('the window is 10 ms at most, however long the timeout', async (t) => {
  let now = 0
  const deadlines = new CallDeadlines(60_000, () => now)
  const first = deadlines.next()
  now = 10
  t.not(deadlines.next(), first, 'a 60 s timeout would allow 600 ms; calls 10 ms apart still get their own')
})

t.test('a signal aborts with a timeout after the timeout, and many calls may listen to it', async (t) => {
  const deadlines = new CallDeadlines(20)
  const signal = deadlines.next()
  const warnings: Error[] = []
  const onWarning = (warning: Error) => warnings.push(warning)
  process.on('warning', onWarning)
  t.teardown(() => process.off('warning', onWarning))
  for (let call = 0; call < 100; call += 1) signal.addEventListener('abort', () => {})
  // The signal's timer does not keep a process alive (a dispatcher's calls do): this does.
  const alive = setInterval(() => {}, 1_000)
  await once(signal, 'abort')
  clearInterval(alive)
  t.equal((signal.reason as Error).name, 'TimeoutError')
  t.notOk(deadlines.next().aborted, 'the next call gets a signal that has not fired')
  await new Promise((done) => setImmediate(done))
  t.same(warnings.map((warning) => warning.name), [], 'no MaxListenersExceededWarning')
})
