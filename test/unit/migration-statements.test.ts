import t from 'tap'
import { statementsOf } from '../../src/db/migrations.ts'

t.test('a no-transaction migration splits at each breakpoint line, whatever ends it', async (t) => {
  const unix = '-- no-transaction\nCREATE INDEX a ON x (a);\n-- statement-breakpoint\nDROP INDEX b;\n'
  t.same(statementsOf(unix), ['-- no-transaction\nCREATE INDEX a ON x (a);\n', '\nDROP INDEX b;\n'])
  // An editor's trailing spaces or Windows line ends must not glue two statements into one.
  const crlf = '-- no-transaction\r\nCREATE INDEX a ON x (a);\r\n-- statement-breakpoint  \r\nDROP INDEX b;\r\n'
  t.equal(statementsOf(crlf).length, 2)
  t.match(statementsOf(crlf)[1], /^\s*DROP INDEX b;/)
})

t.test('parts that hold only comments or blank lines are not statements', async (t) => {
  const sql = '-- no-transaction\n-- statement-breakpoint\nSELECT 1;\n-- statement-breakpoint\n-- the end\n\n'
  t.same(statementsOf(sql), ['\nSELECT 1;\n'])
})

t.test('a breakpoint inside a line is text, not a split', async (t) => {
  t.equal(statementsOf("SELECT '-- statement-breakpoint';\n").length, 1)
})
