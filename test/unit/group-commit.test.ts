import t from 'tap'
import { groupCommit } from '../../src/outbox/enqueue/group-commit.ts'

/** A write that records each batch it got and answers each item doubled, once released. */
function recordingWrite() {
  const batches: number[][] = []
  const gates: (() => void)[] = []
  const write = async (items: number[]) => {
    batches.push(items)
    await new Promise<void>((open) => gates.push(open))
    return items.map((item) => item * 2)
  }
  /** Lets every write started so far finish. */
  const release = () => gates.splice(0).forEach((open) => open())
  return { batches, write, release }
}

const turn = () => new Promise((done) => setImmediate(done))

t.test('items added together go in one write; items added during it go together in the next', async (t) => {
  const { batches, write, release } = recordingWrite()
  const writer = groupCommit(write)
  const first = [1, 2, 3].map((item) => writer.add(item))
  await turn()
  t.same(batches, [[1, 2, 3]])
  const second = [4, 5].map((item) => writer.add(item))
  await turn()
  t.same(batches, [[1, 2, 3]], 'nothing more starts while the write runs')
  release()
  t.same(await Promise.all(first), [2, 4, 6], 'each caller gets its own result')
  await turn()
  t.same(batches, [[1, 2, 3], [4, 5]])
  release()
  t.same(await Promise.all(second), [8, 10])
})

t.test('the next write starts before the callers of the last one hear, and on the tick before them', async (t) => {
  const events: string[] = []
  const gates: (() => void)[] = []
  const writer = groupCommit(async (items: number[]) => {
    events.push(`write ${items.join(',')}`)
    // As pg's pool does with an idle connection: the query goes out on the next tick.
    process.nextTick(() => events.push(`sent ${items.join(',')}`))
    await new Promise<void>((open) => gates.push(open))
    return items
  })
  const first = writer.add(1).then(() => events.push('told 1'))
  await turn()
  const second = writer.add(2).then(() => events.push('told 2'))
  gates.shift()!()
  await first
  t.same(events, ['write 1', 'sent 1', 'write 2', 'sent 2', 'told 1'], 'write 2 was on its way before caller 1 heard')
  await turn()
  gates.shift()!()
  await second
  await writer.drain()
  t.same(events.slice(5), ['told 2'])
})

t.test('maxBatch bounds each write; the rest wait for the next', async (t) => {
  const { batches, write, release } = recordingWrite()
  const writer = groupCommit(write, { maxBatch: 2 })
  const results = [1, 2, 3, 4, 5].map((item) => writer.add(item))
  await turn()
  t.same(batches, [[1, 2]])
  for (let written = 1; written < 3; written++) {
    release()
    await results[2 * written - 1]
    await turn()
  }
  t.same(batches, [[1, 2], [3, 4], [5]])
  release()
  t.same(await Promise.all(results), [2, 4, 6, 8, 10])
})

t.test('a failed write fails its whole batch, unless splitOnError retries it in halves', async (t) => {
  const refuse = async (items: number[]) => {
    if (items.includes(13)) throw new Error(`refused ${items.join(',')}`)
    return items.map((item) => item * 2)
  }
  const whole = groupCommit(refuse)
  const together = [12, 13, 14].map((item) => whole.add(item))
  for (const result of together) await t.rejects(result, { message: 'refused 12,13,14' })

  const batches: number[][] = []
  const split = groupCommit(
    async (items: number[]) => {
      batches.push(items)
      return refuse(items)
    },
    { splitOnError: (error) => !String(error).includes('unavailable') },
  )
  const apart = [12, 13, 14].map((item) => split.add(item))
  t.equal(await apart[0], 24, 'a neighbour before the bad item is written')
  await t.rejects(apart[1], { message: 'refused 13' }, 'only the bad item fails')
  t.equal(await apart[2], 28, 'a neighbour after it is written')
  t.same(batches, [[12, 13, 14], [12, 13], [12], [13], [14]], 'retried in halves')

  const down = groupCommit(
    async (items: number[]) => {
      batches.push(items)
      throw new Error('database unavailable')
    },
    { splitOnError: (error) => !String(error).includes('unavailable') },
  )
  batches.length = 0
  const all = [1, 2].map((item) => down.add(item))
  for (const result of all) await t.rejects(result, { message: 'database unavailable' })
  t.same(batches, [[1, 2]], 'an error every item would meet is not retried in parts')
})

t.test('drain waits for queued and running writes', async (t) => {
  const { write, release } = recordingWrite()
  const writer = groupCommit(write)
  await writer.drain()
  let settled = 0
  for (const item of [1, 2]) void writer.add(item).then(() => (settled += 1))
  let drained = false
  const draining = writer.drain().then(() => (drained = true))
  await turn()
  t.equal(drained, false)
  release()
  await draining
  t.equal(settled, 2)
})

t.test('with a fill, each write waits until it carries that many items', async (t) => {
  const { batches, write, release } = recordingWrite()
  // A wait no test outlasts: only the count can start these writes.
  const writer = groupCommit(write, { fill: { items: 3, waitMs: 3_600_000 } })
  const first = [1, 2].map((item) => writer.add(item))
  await turn()
  t.same(batches, [], 'two of three: no write yet')
  first.push(writer.add(3))
  await turn()
  t.same(batches, [[1, 2, 3]])
  const second = [4, 5, 6, 7].map((item) => writer.add(item))
  release()
  t.same(await Promise.all(first), [2, 4, 6])
  await turn()
  t.same(batches, [[1, 2, 3], [4, 5, 6, 7]], 'items that came during a write already fill the next one')
  release()
  t.same(await Promise.all(second), [8, 10, 12, 14])
})

t.test('with a fill, a write that is not full starts waitMs after its first item', async (t) => {
  const started: { items: number[]; at: number }[] = []
  const writer = groupCommit(
    async (items: number[]) => {
      started.push({ items, at: performance.now() })
      return items
    },
    { fill: { items: 100, waitMs: 40 } },
  )
  const addedAt = performance.now()
  const results = [writer.add(1)]
  await turn()
  results.push(writer.add(2))
  await turn()
  t.same(started, [], 'not full, not yet waited: no write')
  t.same(await Promise.all(results), [1, 2])
  t.same(started.map((write) => write.items), [[1, 2]], 'both in the one write')
  // Node's timers count whole milliseconds from the loop's cached time: up to 1 ms early
  // against performance.now().
  t.ok(started[0].at - addedAt >= 39, `the write started ${(started[0].at - addedAt).toFixed(1)} ms after the first item`)
  await writer.drain()
})
