import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import semver from 'semver'
import t from 'tap'

const root = new URL('../../', import.meta.url)
const manifest = JSON.parse(await readFile(new URL('package.json', root), 'utf8')) as { engines: { node: string } }
const lockfile = JSON.parse(await readFile(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, { dev?: boolean; engines?: { node?: string } }>
}

/**
 * Runtime packages whose `engines` leave out Node 20, each with what it needs and a
 * dependent to load it through. Both are ESM-only: they declare Node 22 for `require(esm)`,
 * which Node 20 has unflagged since 20.19, the floor of our own `engines`. Their dependents
 * (Fastify's own packages) support Node 20 and load them that way.
 */
const esmOnlyOnNode20: Record<string, { loadedBy: string; exports: string[] }> = {
  'node_modules/cookie': { loadedBy: 'node_modules/light-my-request/lib/cookies.js', exports: ['stringifySetCookie', 'parseCookie'] },
  'node_modules/content-disposition': { loadedBy: 'node_modules/@fastify/static/index.js', exports: ['create'] },
}

const runtimePackagesWithoutNode20 = Object.entries(lockfile.packages)
  .filter(([path, entry]) => path !== '' && !entry.dev && entry.engines?.node !== undefined)
  .filter(([, entry]) => !semver.subset(manifest.engines.node, entry.engines!.node!))
  .map(([path]) => path)
  .sort()

t.test('every runtime dependency supports the Node versions package.json promises', async (t) => {
  t.same(
    runtimePackagesWithoutNode20,
    Object.keys(esmOnlyOnNode20).sort(),
    'a new package outside our engines needs a decision: pin an older line, or declare and test why it loads'
  )
})

t.test('the ESM-only packages load with require() on the Node running the tests', async (t) => {
  t.ok(semver.satisfies(process.version, manifest.engines.node), `${process.version} is within ${manifest.engines.node}`)
  for (const [path, { loadedBy, exports }] of Object.entries(esmOnlyOnNode20)) {
    const required = createRequire(new URL(loadedBy, root))(path.replace('node_modules/', '')) as Record<string, unknown>
    for (const name of exports) t.type(required[name], 'function', `${path} exports ${name} to ${loadedBy}`)
  }
})
