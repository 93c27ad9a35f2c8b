// The outbox's words for what a provider call came to. Providers produce them; the
// dispatcher, the ledger, metrics and admins act on them.

/**
 * What a provider call came to, as the dispatcher acts on it:
 * - `ok`: accepted; the message is sent.
 * - `retryable`: the provider did not process the request; try again after the backoff.
 * - `ambiguous`: it may have been sent (timeout after the request left, reset, some 5xx);
 *   retried like `retryable`, but labelled so every duplicate SMS is explained.
 * - `rate_limited`: too many requests; wait at least `retryAfterMs`.
 * - `account`: credentials, balance or sender registration; no message can succeed.
 * - `permanent`: this message can never succeed (bad number, rejected content).
 */
export type OutcomeKind = 'ok' | 'retryable' | 'ambiguous' | 'rate_limited' | 'account' | 'permanent'

/**
 * Why a provider says a number can never be texted, whatever the message: it goes on the
 * suppression list, and enqueue refuses it until an admin removes it.
 */
export type RecipientRefusal = 'invalid_number' | 'opted_out' | 'not_mobile'
