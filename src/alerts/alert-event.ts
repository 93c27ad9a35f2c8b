/** Something an operator should hear about without watching a dashboard. */
export type AlertEvent =
  | {
      kind: 'dead'
      messageId: string
      /** E.164; the digest masks it. */
      to: string
      provider: string
      errorCode: string | null
      error: string | null
    }
  | { kind: 'expired'; messageId: string; to: string }
  /** Sent, but the provider's delivery receipt says the carrier did not deliver it. */
  | { kind: 'undelivered'; messageId: string; to: string | null; provider: string; errorCode: string | null }
  | { kind: 'paused'; provider: string; errorCode: string; reason: string }
  | { kind: 'resumed'; provider: string; by: 'probe' | 'admin' }
