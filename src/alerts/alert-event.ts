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
  | { kind: 'paused'; provider: string; errorCode: string; reason: string }
  | { kind: 'resumed'; provider: string; by: 'probe' | 'admin' }
