import t from 'tap'
import { DatabaseClock } from '../../src/outbox/dispatch/database-clock.ts'

t.test('reads the database time from one statement and carries it forward on its own clock', async (t) => {
  let now = 100
  const clock = new DatabaseClock(() => now)
  t.equal(clock.inMs(1_000), undefined, 'no deadline before the database has said what time it is')

  // Sent at 100, answered at 300: the statement ran at about 200 on this clock.
  clock.observe(new Date(50_000), 100, 300)
  now = 1_300
  t.same(clock.inMs(20_000), new Date(50_000 + 1_100 + 20_000))

  // A database clock 10 minutes ahead is read as such, not as a late claim.
  clock.observe(new Date(50_000 + 1_100 + 600_000), 1_300, 1_300)
  t.same(clock.inMs(0), new Date(651_100))
})
