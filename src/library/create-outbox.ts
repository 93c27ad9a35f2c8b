import { enqueueEach, IdempotencyConflict, type Enqueued, type NewMessage } from '../outbox/enqueue/enqueue.ts'
import { prepareMessage } from '../outbox/enqueue/prepare-message.ts'
import {
  RESULT_LINK_LIFETIME_SECONDS,
  resultReadyConflict,
  resultReadyMessage,
} from '../notifications/result-ready-notification.ts'
import { loadResultReadyTemplate, type ResultReadyTemplate } from '../sms/result-ready-template.ts'
import {
  checkedMessage,
  checkedResultReady,
  type OutboxMessage,
  type ResultReadyNotification,
} from './input-check.ts'
import { resolveOutboxSettings, type OutboxOptions } from './outbox-settings.ts'
import { queryableOf, type Transaction } from './transaction.ts'

export interface Outbox {
  /**
   * Writes `message` in the caller's transaction `tx`: it exists, and dispatchers are
   * woken for it, only if `tx` commits. Throws InvalidMessage (nothing written) for input
   * the REST API would refuse, and IdempotencyConflict for a key reused with another
   * message; let either roll the transaction back.
   */
  enqueue(tx: Transaction, message: OutboxMessage): Promise<Enqueued>
  /**
   * The result-ready notification of `jobId`, as `POST /v1/notifications/result-ready`
   * sends it: the template's text, one message per job, expiring with the result page.
   */
  enqueueResultReady(tx: Transaction, notification: ResultReadyNotification): Promise<Enqueued>
}

/**
 * The outbox as a library, for code that writes its business rows and its SMS in one
 * transaction. Dispatchers (`ROLE=worker`) on the same database send what commits.
 */
export function createOutbox(options: OutboxOptions = {}): Outbox {
  const settings = resolveOutboxSettings(options)
  const shaping = { defaultMaxRetries: settings.maxRetries, smsMaxBytes: settings.smsMaxBytes }
  // Read on first use, then kept: a caller that never sends the notification needs no template.
  let template: Promise<ResultReadyTemplate> | undefined
  const resultReadyTemplate = () =>
    (template ??= loadResultReadyTemplate(settings.resultReadyTemplate, settings.frontendUrl))

  return {
    async enqueue(tx, input) {
      const { idempotencyKey, ...request } = checkedMessage(input)
      const message = prepareMessage(request, { ...shaping, idempotencyKey })
      return enqueueOne(tx, message, settings.ttlSeconds)
    },

    async enqueueResultReady(tx, input) {
      const notification = checkedResultReady(input)
      const message = resultReadyMessage(notification, await resultReadyTemplate(), shaping)
      try {
        return await enqueueOne(tx, message, RESULT_LINK_LIFETIME_SECONDS)
      } catch (error) {
        if (!(error instanceof IdempotencyConflict)) throw error
        throw resultReadyConflict(notification.jobId)
      }
    },
  }
}

/**
 * The insert the API makes, on the caller's connection. enqueueEach reports a refusal of
 * one message (a reused key) as a value so that its neighbours go on; here there are no
 * neighbours, and a refusal must be thrown so that the caller's transaction rolls back
 * instead of committing its business write without the SMS.
 */
async function enqueueOne(tx: Transaction, message: NewMessage, ttlSeconds: number): Promise<Enqueued> {
  const [result] = await enqueueEach(queryableOf(tx), [message], [ttlSeconds])
  if (result instanceof Error) throw result
  return result
}
