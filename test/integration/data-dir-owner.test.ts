// The claim on a DATA_DIR: held by one live process at a time, freed by the kernel when its
// holder is killed with -9. Both kinds: Linux's abstract socket, and the socket file used
// on other systems (which works on Linux too).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { claimDataDir, dataDirOwner, DataDirInUse } from '../../src/db/data-dir-owner.ts'

const OWNER_MODULE = new URL('../../src/db/data-dir-owner.ts', import.meta.url).href

/** Another process that claims `dataDir` and holds the claim until it is killed. */
function claimInAnotherProcess(dataDir: string, platform: string) {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e',
      `const { claimDataDir } = await import(${JSON.stringify(OWNER_MODULE)})
       await claimDataDir(${JSON.stringify(dataDir)}, ${JSON.stringify(platform)})
       console.log('claimed')
       setInterval(() => {}, 60_000)`],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const exited = new Promise((done) => child.once('exit', done))
  const claimed = new Promise<void>((done, fail) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => chunk.includes('claimed') && done())
    child.once('exit', (code) => fail(new Error(`the claiming process exited (${code})`)))
  })
  return { child, exited, claimed }
}

for (const platform of ['linux', 'darwin'] as const) {
  t.test(`${platform}: one live owner at a time; kill -9 frees the claim at once`, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sms-outbox-owner-'))
    t.teardown(() => rmSync(dataDir, { recursive: true, force: true }))
    t.equal(await dataDirOwner(dataDir, platform), undefined, 'nobody owns a new directory')

    const other = claimInAnotherProcess(dataDir, platform)
    t.teardown(() => other.child.kill('SIGKILL'))
    await other.claimed
    t.equal(await dataDirOwner(dataDir, platform), other.child.pid, 'the owner answers with its pid')
    const refused = await claimDataDir(dataDir, platform).catch((error: unknown) => error)
    t.type(refused, DataDirInUse)
    t.match((refused as Error).message, `another sms-outbox (pid ${other.child.pid}) is using the embedded PostgreSQL in ${dataDir}`)

    other.child.kill('SIGKILL')
    await other.exited
    t.equal(await dataDirOwner(dataDir, platform), undefined, 'a dead owner owns nothing')
    const mine = await claimDataDir(dataDir, platform)
    t.equal(await dataDirOwner(dataDir, platform), process.pid)
    mine.release()
    await t.resolves(claimDataDir(dataDir, platform).then((again) => again.release()), 'released: claimable again')
  })
}
