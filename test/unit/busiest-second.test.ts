import t from 'tap'
import { busiestSecond } from '../../bench/measure.ts'

t.test('the most times inside any one-second window, in any order, the window open at its end', async (t) => {
  t.equal(busiestSecond([]), 0)
  t.equal(busiestSecond([5]), 1)
  t.equal(busiestSecond([1_150, 0, 1_100, 100, 200]), 3, '200, 1100 and 1150 share a second')
  t.equal(busiestSecond([0, 1_000, 2_000]), 1, 'exactly a second apart: never in one window')
  t.equal(busiestSecond([0, 999, 1_000, 1_998]), 3, '999, 1000 and 1998 share a second')
})
