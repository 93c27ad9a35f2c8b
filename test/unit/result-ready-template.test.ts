import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import t from 'tap'
import {
  BUNDLED_RESULT_READY_TEMPLATE,
  InvalidTemplate,
  JOB_ID_MAX_LENGTH,
  loadResultReadyTemplate,
} from '../../src/sms/result-ready-template.ts'

t.test('the bundled template: the link on FRONTEND_URL without its trailing slash, and the notice', async (t) => {
  t.match(BUNDLED_RESULT_READY_TEMPLATE, /templates[/\\]result-ready\.txt$/)
  const template = await loadResultReadyTemplate(undefined, 'https://findmyrizz.example/')
  const text = template.render('job-42')
  t.equal(
    text,
    '[Find My Rizz] Your analysis result is ready: https://findmyrizz.example/results/job-42\nIt will be deleted after 24 hours.',
  )
  t.notMatch(text, /example\/\/results/, 'no double slash')

  // Several trailing slashes, and a base with a path.
  const nested = await loadResultReadyTemplate(BUNDLED_RESULT_READY_TEMPLATE, 'http://localhost:3000/app///')
  t.match(nested.render('a'), 'http://localhost:3000/app/results/a\n')
})

t.test('the bundled file is what the default loads, with its placeholders filled in', async (t) => {
  const source = (await readFile(BUNDLED_RESULT_READY_TEMPLATE, 'utf8')).trimEnd()
  t.match(source, '${FRONTEND_URL}/results/${jobId}')
  const template = await loadResultReadyTemplate(undefined, 'https://x.example')
  t.equal(
    template.render('j1'),
    source.replaceAll('${FRONTEND_URL}', 'https://x.example').replaceAll('${jobId}', 'j1'),
  )
})

t.test('the jobId is URL-encoded in the link', async (t) => {
  const template = await loadResultReadyTemplate(undefined, 'https://findmyrizz.example')
  t.match(template.render('a b/c?d#e'), 'https://findmyrizz.example/results/a%20b%2Fc%3Fd%23e\n')
  t.match(template.render('결과'), '/results/%EA%B2%B0%EA%B3%BC\n')
})

t.test('a custom template: every occurrence filled, nothing else touched, trailing whitespace dropped', async (t) => {
  const dir = t.testdir({ 'custom.txt': '${jobId} at ${FRONTEND_URL} ($ {jobId}) ${jobId}\n\n' })
  const template = await loadResultReadyTemplate(join(dir, 'custom.txt'), 'https://f.example/')
  t.equal(template.render('j-1'), 'j-1 at https://f.example ($ {jobId}) j-1')
})

t.test('a missing file rejects with InvalidTemplate naming the path', async (t) => {
  const path = join(t.testdirName, 'no-such-template.txt')
  const error = await loadResultReadyTemplate(path, 'https://findmyrizz.example').then(
    () => undefined,
    (error: unknown) => error,
  )
  t.type(error, InvalidTemplate)
  t.match(error, { name: 'InvalidTemplate', message: `cannot read the result-ready template ${path}` })
})

t.test('unknown placeholders reject, each named', async (t) => {
  const dir = t.testdir({ 'bad.txt': 'Hi ${name}, ${FRONTEND_URL}/results/${jobId} ${job_id}' })
  await t.rejects(loadResultReadyTemplate(join(dir, 'bad.txt'), 'https://findmyrizz.example'), {
    name: 'InvalidTemplate',
    message: /unknown placeholders \$\{name\}, \$\{job_id\}/,
  })
})

t.test('an emoji rejects: carriers cannot send it', async (t) => {
  const dir = t.testdir({ 'emoji.txt': 'Your result is ready 🎉 ${FRONTEND_URL}/results/${jobId}' })
  const path = join(dir, 'emoji.txt')
  await t.rejects(loadResultReadyTemplate(path, 'https://findmyrizz.example'), {
    name: 'InvalidTemplate',
    message: /emoji\.txt cannot be sent: .*U\+1F389/,
  })
})

t.test('a template too long for an LMS (over 2,000 EUC-KR bytes with the longest jobId) rejects', async (t) => {
  const base = 'https://findmyrizz.example'
  const link = '${FRONTEND_URL}/results/${jobId}'
  // The link takes base + "/results/" + a jobId of JOB_ID_MAX_LENGTH characters.
  const linkBytes = base.length + '/results/'.length + JOB_ID_MAX_LENGTH
  t.equal(JOB_ID_MAX_LENGTH, 64)
  // Hangul is 2 bytes in EUC-KR: fill up to exactly 2,000 bytes, then one more.
  const fill = 2_000 - linkBytes
  t.equal(fill % 2, 1, 'the fill has an odd byte for the ASCII padding')
  const fits = '가'.repeat((fill - 1) / 2) + ' ' + link
  const over = '가'.repeat((fill - 1) / 2) + '  ' + link
  const dir = t.testdir({ 'fits.txt': fits, 'over.txt': over, 'huge.txt': '가'.repeat(1_000) + link })

  const template = await loadResultReadyTemplate(join(dir, 'fits.txt'), base)
  t.ok(template.render('x'.repeat(64)).endsWith(`${base}/results/${'x'.repeat(64)}`), 'exactly 2,000 bytes loads')

  await t.rejects(loadResultReadyTemplate(join(dir, 'over.txt'), base), {
    name: 'InvalidTemplate',
    message: /over\.txt cannot be sent: text is 2001 bytes in EUC-KR; the limit is 2000/,
  })
  await t.rejects(loadResultReadyTemplate(join(dir, 'huge.txt'), base), {
    name: 'InvalidTemplate',
    message: /the limit is 2000/,
  })
})
