import type { PrismaClient } from '../db/database.ts'

export interface AdminActionRecord {
  at: Date
  actor: string
  action: string
  detail: unknown
}

/** What admins did to one message, oldest first. */
export async function adminActionsOf(prisma: PrismaClient, messageId: string): Promise<AdminActionRecord[]> {
  return prisma.adminAction.findMany({
    where: { messageId },
    orderBy: { id: 'asc' },
    select: { at: true, actor: true, action: true, detail: true },
  })
}
