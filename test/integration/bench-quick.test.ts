import { spawn } from 'node:child_process'
import t from 'tap'

// The bench itself, smoke-tested: `npm run bench -- --quick` against the suite's server
// runs every phase and prints one JSON document of the documented shape. The figures
// are not checked: the suite shares a small machine, and timing belongs to the bench.
// About 100 s on 2 cores (it runs alone: `serial` in .taprc), more on a slower host: the
// file's own timeout replaces the 120 s of .taprc.
t.setTimeout(300_000)

t.test('npm run bench -- --quick completes and prints its JSON document', { timeout: 240_000 }, async (t) => {
  const serverUrl = process.env.TEST_DATABASE_URL
  if (!serverUrl) throw new Error('TEST_DATABASE_URL is unset: run the suite with `npm test`')
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts', '--quick'], {
    env: { ...process.env, DATABASE_URL: serverUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const code = await new Promise<number | null>((done) => child.once('exit', done))
  t.equal(code, 0, `the bench exits cleanly\n${stderr.slice(-3000)}`)

  const result = JSON.parse(stdout)
  const rate = { cpu: Object }
  t.match(result, {
    quick: true,
    phases: ['pgbench', 'pg-boss', 'graphile-worker', 'rest', 'batch', 'dispatch', 'dispatch-batch', 'dispatch-many', 'lag', 'claim'],
    machine: { cpus: Number, node: String, postgres: String },
    pgBoss: { version: String, enqueue: { jobsPerSecond: Number }, drain: { jobsPerSecond: Number } },
    graphileWorker: {
      version: String,
      enqueue: { jobsPerSecond: Number },
      drain: { jobsPerSecond: Number },
      drainBatched: { jobsPerSecond: Number },
    },
    outbox: {
      restEnqueue: { messagesPerSecond: Number, p50Ms: Number, p99Ms: Number, non2xx: 0, rowsPerInsert: Number, ...rate },
      batchEnqueue: { messagesPerSecond: Number, batchSize: 1000, non2xx: 0, ...rate },
      dispatch: { messages: Number, messagesPerSecond: Number, rowsPerStatement: { claim: Number, record: Number }, messagesPerCall: 1, ...rate },
      dispatchBatch: { messages: Number, messagesPerSecond: Number, messagesPerCall: Number, ...rate },
      dispatchMany: { messages: Number, messagesPerSecond: Number, messagesPerCall: Number, ...rate },
      lag: { p50Ms: Number, p99Ms: Number, messages: Number, ...rate },
      claim: { emptyTable: { p99Ms: Number }, withSentRows: { sentRows: Number, p99Ms: Number } },
      peakRssMB: { api: Number, worker: Number, all: Number, max: Number },
    },
  })
  t.ok(result.outbox.dispatchBatch.messagesPerCall > 1, 'the batch phase put several messages in a call')
  t.ok(result.pgbench.insertsPerSecond === null ? result.pgbench.skipped : result.pgbench.insertsPerSecond > 0, 'pgbench ran, or says why not')

  const names = result.ratios.map((ratio: { name: string }) => ratio.name)
  for (const expected of [
    /^REST enqueue \/ pg-boss enqueue$/,
    /^batch enqueue \/ pg-boss enqueue$/,
    /^dispatch over HTTP, SOLAPI send-many \/ graphile-worker no-op drain$/,
    /^dispatch over HTTP, webhook one per call \/ graphile-worker no-op drain$/,
    /^dispatch over HTTP, webhook batches of 500 \/ graphile-worker no-op drain$/,
    /^lag p50/,
    /^lag p99/,
    /^claim p99/,
    /^service peak RSS$/,
  ]) {
    t.ok(names.some((name: string) => expected.test(name)), `ratio ${expected}`)
  }
  for (const ratio of result.ratios) {
    t.match(ratio, { name: String, value: Number }, ratio.name)
    t.ok(ratio.target === null ? ratio.met === null : typeof ratio.met === 'boolean', `${ratio.name}: met goes with a target`)
  }
  t.match(stderr, /\| measure \| value \| target \| met \|/, 'the ratio table is printed')
})
