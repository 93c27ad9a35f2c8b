// `npm start` on the embedded PostgreSQL, killed with -9 the way the OOM killer or a crashed
// terminal kills it, then started again: the real binary, the real server, a fake provider.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { isAlive } from '../../src/db/running-embedded-server.ts'
import { processesMentioning } from '../helpers/cli-process.ts'
import { compiledEntry, freshDataDir, postmasterOf, sentBy, serviceEnv, stopCleanly, submit } from '../helpers/embedded-service.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startService, until } from '../helpers/service-process.ts'

// Cold boots of PostgreSQL on two shared cores: allow for a slow one.
const BOOT_MS = 60_000

t.test('kill -9 of the node process only, started again at once: it boots and sends', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  const first = await startService(serviceEnv(dataDir, fake), compiledEntry)
  t.teardown(() => first.child.kill('SIGKILL'))
  await sentBy(fake, await submit(first, 'before the crash'))
  const crashedServer = postmasterOf(dataDir)

  first.child.kill('SIGKILL')
  await first.exited
  const second = await startService(serviceEnv(dataDir, fake), compiledEntry)
  t.teardown(() => second.child.kill('SIGKILL'))
  await sentBy(fake, await submit(second, 'after the crash'))
  t.notOk(isAlive(crashedServer), 'the crashed run’s server is gone')
  t.not(postmasterOf(dataDir), crashedServer, 'a server of its own')
  t.notMatch(second.output(), readFileSync(join(dataDir, 'sms-outbox-password'), 'utf8').trim(), 'no password in the log')
  await stopCleanly(t, second, dataDir)
})

t.test('kill -9 of the node process: its PostgreSQL stops too, with no new start', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  const service = await startService(serviceEnv(dataDir, fake), compiledEntry)
  t.teardown(() => service.child.kill('SIGKILL'))
  const server = postmasterOf(dataDir)
  service.child.kill('SIGKILL')
  await service.exited
  // An exiting process loses its command line before it is gone: wait for both.
  await until(() => processesMentioning(dataDir).length === 0 && !isAlive(server), 'the server and its watchdog gone', BOOT_MS)
  t.notOk(existsSync(join(dataDir, 'postmaster.pid')), 'a clean shutdown: the lock file removed')
})

t.test('kill -9 during the first boot’s migrations, then a new start', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  // The service logs this line once its new server is ready, right before it migrates.
  let killed = false
  const first = startService(serviceEnv(dataDir, fake), {
    ...compiledEntry,
    onSpawn: (child) => {
      t.teardown(() => child.kill('SIGKILL'))
      child.stdout!.on('data', (chunk: Buffer | string) => {
        if (killed || !String(chunk).includes('embedded PostgreSQL on')) return
        killed = true
        child.kill('SIGKILL')
      })
    },
  })
  await t.rejects(first, /service exited/)
  t.ok(killed, 'killed once its server was ready, before it listened')

  const second = await startService(serviceEnv(dataDir, fake), compiledEntry)
  t.teardown(() => second.child.kill('SIGKILL'))
  const applied = /applied (\d+) migrations/.exec(second.output())
  t.comment(`the new start applied ${applied?.[1] ?? 0} of the migrations`)
  await sentBy(fake, await submit(second, 'after a crashed first boot'))
  await stopCleanly(t, second, dataDir)
})
