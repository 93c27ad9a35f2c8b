import type { OutcomeKind } from '../providers/provider.ts'

/**
 * Where the dispatcher reports each provider call. The metrics registry implements it;
 * the dispatcher only knows this shape, so the dependency runs from metrics to the outbox.
 */
export interface AttemptMetrics {
  /** One provider call, its outcome, and how long the provider took (seconds). */
  recordAttempt(provider: string, outcome: OutcomeKind, seconds: number): void
}
