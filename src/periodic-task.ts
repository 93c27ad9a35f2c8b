export interface PeriodicTask {
  /** Stops the timer, then waits for a run in progress. */
  stop(): Promise<void>
}

/**
 * Runs `task` now and every `intervalMs`; a run still going when the next is due is not
 * doubled. A run that fails is handed to `onError`, and the next one comes as planned.
 * The timer does not keep the process alive.
 */
export function runPeriodically(intervalMs: number, task: () => Promise<unknown>, onError: (error: unknown) => void): PeriodicTask {
  let running: Promise<void> | undefined
  const tick = () => {
    running ??= task()
      .then(() => undefined, onError)
      .finally(() => (running = undefined))
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  timer.unref()
  return {
    async stop() {
      clearInterval(timer)
      await running
    },
  }
}
