// `node --import tsx bench/profile-summary.ts FILE.cpuprofile [N]`: where a V8 CPU profile
// (from `npm run bench -- --cpu-prof DIR`) spent its time, by package and by function.
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number }
  children?: number[]
}
interface Profile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

const [file, top = '25'] = process.argv.slice(2)
if (!file) throw new Error('usage: profile-summary.ts FILE.cpuprofile [N]')
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const selfTime = new Map<number, number>()
profile.samples.forEach((id, index) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)))
// Shares are of the time the thread was busy: waiting in the event loop is `(idle)`, told apart.
const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)'
const idle = [...selfTime].reduce((sum, [id, time]) => sum + (isIdle(id) ? time : 0), 0)
const total = [...selfTime.values()].reduce((a, b) => a + b, 0) - idle

/** node_modules/<package>, the project's own directory, node: internals, or V8's (program, GC, idle). */
function placeOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame
  if (!url) return functionName.startsWith('(') ? functionName : `(${functionName || 'native'})`
  const module = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)
  if (module) return module[1]
  if (url.startsWith('node:')) return 'node:' + url.slice(5).split('/')[0]
  const own = url.match(/\/(src|bench|test)\/(.*)$/)
  return own ? `${own[1]}/${own[2]}` : url
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value)
const byPlace = new Map<string, number>()
const byFunction = new Map<string, number>()
for (const [id, time] of selfTime) {
  if (isIdle(id)) continue
  const node = byId.get(id)!
  add(byPlace, placeOf(node), time)
  add(byFunction, `${node.callFrame.functionName || '(anonymous)'} ${placeOf(node)}:${node.callFrame.lineNumber + 1}`, time)
}
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title} (self time, of ${(total / 1e6).toFixed(1)} s busy; idle ${(idle / 1e6).toFixed(1)} s besides)`)
  for (const [key, time] of [...map].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    console.log(`${((100 * time) / total).toFixed(1).padStart(5)}%  ${key}`)
  }
}
print('by package', byPlace)
print('by function', byFunction)
