import { spawn } from 'node:child_process'
import t from 'tap'

// The chaos harness's quick run (test/chaos/run.ts --quick): a few scenarios with small
// counts against real processes and the harness's own PostgreSQL (it starts one in a
// temporary directory, so TEST_DATABASE_URL is not used). `npm run chaos` is the full run.
const INVARIANTS = ['lost', 'stranded', 'dup_unexplained', 'unexpected', 'sent_without_receipt'] as const

// About a minute alone, longer beside the rest of the suite; the harness bounds itself at
// 180 s. The file's own timeout replaces the 120 s of .taprc.
t.setTimeout(300_000)

t.test('npm run chaos -- --quick: every invariant holds', { timeout: 240_000 }, async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/run.ts', '--quick'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  const code = await new Promise<number | null>((done) => child.once('exit', (exitCode) => done(exitCode)))

  const lines = stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
  const summary = lines.find((line) => line.summary === true)
  const scenarios = lines.filter((line) => typeof line.scenario === 'number')
  t.equal(code, 0, `exit code 0 (stderr: ${stderr.slice(-2_000)})`)
  t.match(summary, { ok: true, mode: 'quick', failed: [] }, 'the summary line says ok')
  t.ok(scenarios.length >= 5, `${scenarios.length} scenarios ran`)
  for (const scenario of scenarios) {
    t.equal(scenario.ok, true, `scenario ${scenario.scenario} (${scenario.name}) ok: ${JSON.stringify(scenario.violations)}`)
    for (const name of INVARIANTS) {
      if (name in scenario) t.equal(scenario[name], 0, `scenario ${scenario.scenario}: ${name} = 0`)
    }
  }
  // The checker ran on the delivery scenarios, not only on the in-process ones.
  t.ok(scenarios.filter((s) => 'lost' in s).length >= 3, 'the checker ran on at least three delivery scenarios')
})
