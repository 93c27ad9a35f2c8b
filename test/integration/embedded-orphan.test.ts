// A PostgreSQL left running by a dead `npm start` whose watchdog died too (one kill -9 for
// every process of the service, say), and two starts on one DATA_DIR: the real binaries.
import t from 'tap'
import { isAlive } from '../../src/db/running-embedded-server.ts'
import { processesMentioning, runCli } from '../helpers/cli-process.ts'
import { freshDataDir, orphanTheServer, postmasterOf, sentBy, serviceEnv, stopCleanly, submit } from '../helpers/embedded-service.ts'
import { startFakeWebhook } from '../helpers/fake-webhook.ts'
import { startService } from '../helpers/service-process.ts'

t.test('a server orphaned with its watchdog killed too: the next start stops it and boots', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  const first = await startService(serviceEnv(dataDir, fake))
  t.teardown(() => first.child.kill('SIGKILL'))
  const orphan = await orphanTheServer(first, dataDir)
  t.ok(isAlive(orphan), 'left running with nobody to stop it')

  const second = await startService(serviceEnv(dataDir, fake))
  t.teardown(() => second.child.kill('SIGKILL'))
  t.match(second.output(), `stopped PostgreSQL (pid ${orphan}) left running by an sms-outbox that died`)
  t.notOk(isAlive(orphan))
  await sentBy(fake, await submit(second, 'after the orphan'))
  await stopCleanly(t, second, dataDir)
})

t.test('the CLI on a DATA_DIR with an orphaned server', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  const service = await startService(serviceEnv(dataDir, fake))
  t.teardown(() => service.child.kill('SIGKILL'))
  const id = await submit(service, 'listed later')
  await sentBy(fake, id)
  const orphan = await orphanTheServer(service, dataDir)

  const { DATABASE_URL: _unset, ...env } = process.env
  const listed = await runCli(['list', '--json'], { ...env, DATA_DIR: dataDir })
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, id)
  t.match(listed.stderr, `stopped PostgreSQL (pid ${orphan}) left running by an sms-outbox that died`)
  t.same(processesMentioning(dataDir), [], 'the orphan stopped, and the command’s own server too')
})

t.test('two starts on one DATA_DIR: the second is refused, the first keeps its server', async (t) => {
  const dataDir = freshDataDir(t)
  const fake = await startFakeWebhook(t)
  const first = await startService(serviceEnv(dataDir, fake))
  t.teardown(() => first.child.kill('SIGKILL'))
  const server = postmasterOf(dataDir)

  const second = startService(serviceEnv(dataDir, fake))
  await t.rejects(second, new RegExp(`another sms-outbox \\(pid ${first.child.pid}\\) is using the embedded PostgreSQL in ${dataDir}`))
  t.equal(postmasterOf(dataDir), server, 'the same server runs')
  await sentBy(fake, await submit(first, 'still served'))
  await stopCleanly(t, first, dataDir)
})

