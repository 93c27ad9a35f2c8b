// What a `ROLE=worker` process loads: main's static import graph in the compiled dist/
// (the API's app and Prisma come in through dynamic imports, for the other roles only).
// Prisma's runtime is ~2 MB of live heap a worker has no use for; an error class once
// brought it in through the shared error handler.
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'

const DIST = fileURLToPath(new URL('../../dist/', import.meta.url))

/** The modules a file imports statically (`import … from`, `export … from`, bare `import '…'`). */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest)
  return source.statements
    .filter((node) => (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) || (ts.isExportDeclaration(node) && node.moduleSpecifier))
    .map((node) => ((node as ts.ImportDeclaration | ts.ExportDeclaration).moduleSpecifier as ts.StringLiteral).text)
}

/** Every module reachable through static imports: dist/ files by path, packages by specifier. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>()
  const packages = new Set<string>()
  const pending = [join(DIST, entry)]
  while (pending.length > 0) {
    const file = pending.pop()!
    if (files.has(file)) continue
    files.add(file)
    for (const specifier of staticImports(file)) {
      if (specifier.startsWith('.')) pending.push(join(dirname(file), specifier))
      else if (!specifier.startsWith('node:')) packages.add(specifier)
    }
  }
  return { files: new Set([...files].map((file) => relative(DIST, file))), packages }
}

t.test('a worker loads neither Prisma nor the API', async (t) => {
  t.ok(existsSync(join(DIST, 'main.js')), 'dist/ is built (npm test builds it first)')
  const { files, packages } = staticGraph('main.js')
  t.ok(files.has('run-dispatcher.js'), 'the walk follows main into the dispatcher')
  t.ok(files.has('http/operations-app.js'), 'and into the operations app a worker serves')
  t.same([...files].filter((file) => file.startsWith('generated/')), [], 'no generated Prisma client')
  t.same([...packages].filter((name) => name.startsWith('@prisma/')), [], 'no Prisma package')
  t.notOk(files.has('http/app.js'), "not the API's app")
  t.notOk(files.has('db/database.js'), 'not the Prisma-backed database')
})

t.test('the walk sees Prisma where it is loaded: the API', async (t) => {
  const { files } = staticGraph('http/app.js')
  t.ok(files.has('generated/prisma/client.js'))
})
