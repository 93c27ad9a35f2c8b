import { createHash } from 'node:crypto'
import { realpathSync, rmSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { resolve } from 'node:path'

/** This process owns a data directory until release(); a crash releases it too. */
export interface DataDirOwnership {
  release(): void
}

/** Another live process owns the data directory: what two `npm start`s on one DATA_DIR meet. */
export class DataDirInUse extends Error {
  constructor(
    readonly dataDir: string,
    /** Unknown (undefined or 0) when the owner did not say. */
    readonly ownerPid: number | undefined,
  ) {
    const who = !ownerPid ? 'another sms-outbox' : `another sms-outbox (pid ${ownerPid})`
    super(
      `${who} is using the embedded PostgreSQL in ${dataDir}; stop it first, or give this one its own DATA_DIR or a DATABASE_URL`,
    )
    this.name = 'DataDirInUse'
  }
}

/**
 * Claims `dataDir` for this process, or throws DataDirInUse.
 *
 * The claim is a unix socket this process listens on, named after the directory. Why a
 * socket: the kernel frees it the instant its holder dies, kill -9 included, so "the owner
 * is dead" is decided by the kernel, not by a pid file (pids get reused) or a timeout;
 * and binding is atomic, so two processes starting at once cannot both win. On Linux the
 * name lives in the abstract namespace (no file at all); elsewhere it is a socket file in
 * the temporary directory, and one that nobody listens on any more is a dead owner's.
 * Connecting to it answers the owner's pid, for the error message.
 */
export async function claimDataDir(dataDir: string, platform = process.platform): Promise<DataDirOwnership> {
  const address = ownerAddress(dataDir, platform)
  for (let attempt = 0; ; attempt += 1) {
    const server = createServer((socket) => socket.end(String(process.pid)))
    try {
      await listen(server, address)
      // Never keeps the process alive by itself; the postmaster's pipes do while it runs.
      server.unref()
      return {
        release: () => {
          server.close()
        },
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error
      const ownerPid = await dataDirOwner(dataDir, platform)
      if (ownerPid !== undefined) throw new DataDirInUse(dataDir, ownerPid)
      // A socket file left by a dead owner (never on Linux): remove it, claim once more.
      if (attempt > 0 || isAbstract(address)) throw new DataDirInUse(dataDir, undefined)
      rmSync(address, { force: true })
    }
  }
}

/**
 * The pid of the live process that owns `dataDir`, or undefined when none does. (`platform`
 * only for tests: the socket file used off Linux works on Linux too.)
 */
export function dataDirOwner(dataDir: string, platform = process.platform): Promise<number | undefined> {
  return new Promise((answer) => {
    const socket = createConnection(ownerAddress(dataDir, platform))
    let reply = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => (reply += chunk))
    // ECONNREFUSED (a socket file nobody listens on) or ENOENT: no live owner.
    socket.once('error', () => answer(undefined))
    socket.once('end', () => answer(Number(reply) > 0 ? Number(reply) : 0))
  })
}

function ownerAddress(dataDir: string, platform: NodeJS.Platform): string {
  const key = createHash('sha256').update(realpathSync(dataDir)).digest('hex')
  if (platform === 'linux') return `\0sms-outbox-data-dir-${key}`
  if (platform === 'win32') return `\\\\.\\pipe\\sms-outbox-data-dir-${key}`
  // A short name: macOS limits socket paths to 104 bytes.
  return resolve(tmpdir(), `sms-outbox-${key.slice(0, 32)}.sock`)
}

function isAbstract(address: string): boolean {
  return address.startsWith('\0') || address.startsWith('\\\\.\\pipe\\')
}

function listen(server: Server, address: string): Promise<void> {
  return new Promise((listening, fail) => {
    server.once('error', fail)
    server.listen(address, () => {
      server.off('error', fail)
      listening()
    })
  })
}
