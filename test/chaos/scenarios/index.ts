import type { Scenario } from '../scenario.ts'
import { adminProtection } from './admin-protection.ts'
import { backoffProperties } from './backoff-properties.ts'
import { baselineDrain } from './baseline-drain.ts'
import { clockSkew } from './clock-skew.ts'
import { concurrentClaimers } from './concurrent-claimers.ts'
import { crashAfterProviderOk } from './crash-after-provider-ok.ts'
import { backendTermination, databaseBlackhole } from './database-connection-faults.ts'
import { idempotencyRace } from './idempotency-race.ts'
import { inputFuzz } from './input-fuzz.ts'
import { killApi } from './kill-api.ts'
import { killDispatchers } from './kill-dispatchers.ts'
import { leaseVsProviderTimeout } from './lease-vs-provider-timeout.ts'
import { longOpenTransaction } from './long-open-transaction.ts'
import { gracefulShutdown } from './graceful-shutdown.ts'
import { postgresRestart } from './postgres-restart.ts'
import { reclaimAckRace } from './reclaim-ack-race.ts'
import { retryBudgetRecovery } from './retry-budget-recovery.ts'
import { smallPoolBurst } from './small-pool-burst.ts'
import { solapiSendMany } from './solapi-send-many.ts'
import { stateMachineModel } from './state-machine-model.ts'
import { acceptThenReset, hungProvider, permanentRefusals, rateLimited, serverErrorStorm } from './provider-storms.ts'

/** Every scenario, numbered as in docs/reliability.md's table. */
export const SCENARIOS: Scenario[] = [
  baselineDrain,
  killDispatchers,
  crashAfterProviderOk,
  concurrentClaimers,
  killApi,
  idempotencyRace,
  postgresRestart,
  backendTermination,
  databaseBlackhole,
  leaseVsProviderTimeout,
  serverErrorStorm,
  rateLimited,
  hungProvider,
  acceptThenReset,
  permanentRefusals,
  clockSkew,
  backoffProperties,
  stateMachineModel,
  reclaimAckRace,
  longOpenTransaction,
  smallPoolBurst,
  gracefulShutdown,
  inputFuzz,
  adminProtection,
  retryBudgetRecovery,
  solapiSendMany,
]
