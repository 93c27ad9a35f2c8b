import { createHmac, randomBytes } from 'node:crypto'

/**
 * The `Authorization` header of SOLAPI's v4 API. SOLAPI accepts a signature once in 15
 * minutes and refuses a reused one with DuplicatedSignature, so every attempt calls this
 * afresh: the default salt is new each time. Two calls in one second share a date, so it is
 * the salt that makes each signature new.
 */
export function solapiAuthorization(
  apiKey: string,
  apiSecret: string,
  now = new Date(),
  salt = randomBytes(16).toString('hex'),
): string {
  // Whole seconds, as every SOLAPI SDK sends it (solapi-nodejs formats with date-fns
  // formatISO): a fraction of a second is something the live API never sees from them.
  const date = now.toISOString().replace(/\.\d{3}Z$/, 'Z')
  const signature = createHmac('sha256', apiSecret).update(date + salt).digest('hex')
  return `HMAC-SHA256 apiKey=${apiKey}, date=${date}, salt=${salt}, signature=${signature}`
}
