import type { PrismaClient } from '../db/database.ts'
import type { AttemptRecord, MessageRecord } from './message.ts'

/** One message with its attempt history, oldest attempt first; null if there is none. */
export async function findMessage(
  prisma: PrismaClient,
  id: string,
): Promise<{ message: MessageRecord; attempts: AttemptRecord[] } | null> {
  const row = await prisma.message.findUnique({
    where: { id },
    include: { history: { orderBy: { attempt: 'asc' } } },
  })
  if (!row) return null
  const { history, recipient, body, ...rest } = row
  return {
    message: { ...rest, to: recipient, text: body } as MessageRecord,
    attempts: history.map((attempt) => ({
      attempt: attempt.attempt,
      startedAt: attempt.startedAt,
      finishedAt: attempt.finishedAt,
      outcome: attempt.outcome as AttemptRecord['outcome'],
      errorCode: attempt.errorCode,
      errorMessage: attempt.errorMessage,
      httpStatus: attempt.httpStatus,
      latencyMs: attempt.latencyMs,
    })),
  }
}
