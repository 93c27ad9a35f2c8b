import t from 'tap'
import { receiptsOfSolapiList } from '../../src/providers/solapi-receipts.ts'

t.test('a status code sent as a number is read as the same code, not as "still pending"', async (t) => {
  const answer = (statusCode: unknown) => JSON.stringify({ messageList: { M4V1: { messageId: 'M4V1', statusCode } } })
  t.match(receiptsOfSolapiList(answer('4000')), [{ providerMessageId: 'M4V1', status: 'delivered' }])
  t.match(receiptsOfSolapiList(answer(4000)), [{ providerMessageId: 'M4V1', status: 'delivered' }])
  t.match(receiptsOfSolapiList(answer(3059)), [{ providerMessageId: 'M4V1', status: 'undelivered', errorCode: '3059' }])
  t.same(receiptsOfSolapiList(answer(3000)), [], 'still with the carrier: asked again later')
})
