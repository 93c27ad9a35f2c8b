import { createHash } from 'node:crypto'
import type { ResultReadyTemplate } from '../sms/result-ready-template.ts'
import { IdempotencyConflict, type NewMessage } from '../outbox/enqueue/enqueue.ts'
import { prepareMessage, RESERVED_KEY_PREFIX } from '../outbox/enqueue/prepare-message.ts'

// The result page is deleted after 24 hours, so a later SMS would carry a dead link.
export const RESULT_LINK_LIFETIME_SECONDS = 24 * 60 * 60

/**
 * The one message a finished job gets, whether the HTTP route or a library caller's
 * transaction asks for it: both must agree on its key, or a job could be notified twice.
 */
export function resultReadyMessage(
  { to, jobId }: { to: string; jobId: string },
  template: ResultReadyTemplate,
  settings: { defaultMaxRetries: number; smsMaxBytes?: number },
): NewMessage {
  const message = prepareMessage(
    { to, text: template.render(jobId), metadata: { notification: 'result-ready', jobId } },
    settings,
  )
  // The job and the number identify the notification, not its text: a template edited
  // between two calls must not turn the second call into a conflict.
  const requestHash = createHash('sha256').update(JSON.stringify([message.to, jobId])).digest('hex')
  return { ...message, idempotencyKey: `${RESERVED_KEY_PREFIX}${jobId}`, requestHash }
}

/** The conflict a second number for the same job gets, in words about the job. */
export function resultReadyConflict(jobId: string): IdempotencyConflict {
  return new IdempotencyConflict(`${RESERVED_KEY_PREFIX}${jobId}`, `job ${jobId} was already notified to a different number`)
}
