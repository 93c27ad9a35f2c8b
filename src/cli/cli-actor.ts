import { userInfo } from 'node:os'

/**
 * Who is acting, for admin_actions: `cli:<os user>`. In a container the uid may have no
 * passwd entry, where userInfo() throws; the environment still usually names the user.
 */
export function cliActor(): string {
  let name: string | undefined
  try {
    name = userInfo().username
  } catch {
    name = process.env.USER ?? process.env.LOGNAME
  }
  return `cli:${name || 'unknown'}`
}
