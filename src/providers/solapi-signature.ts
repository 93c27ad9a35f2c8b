import { createHmac, randomBytes } from 'node:crypto'

/**
 * The `Authorization` header of SOLAPI's v4 API. SOLAPI accepts a signature once in 15
 * minutes and refuses a reused one with DuplicatedSignature, so every attempt calls this
 * afresh: the default salt is new each time.
 */
export function solapiAuthorization(
  apiKey: string,
  apiSecret: string,
  now = new Date(),
  salt = randomBytes(16).toString('hex'),
): string {
  const date = now.toISOString()
  const signature = createHmac('sha256', apiSecret).update(date + salt).digest('hex')
  return `HMAC-SHA256 apiKey=${apiKey}, date=${date}, salt=${salt}, signature=${signature}`
}
