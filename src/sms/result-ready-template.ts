import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { measureText, UnsendableText } from './message-encoding.ts'

/** The template shipped with the package; RESULT_READY_TEMPLATE points elsewhere. */
export const BUNDLED_RESULT_READY_TEMPLATE = fileURLToPath(
  new URL('../../templates/result-ready.txt', import.meta.url),
)

// The longest job id the API accepts: the template must fit an LMS even with one.
export const JOB_ID_MAX_LENGTH = 64
const PLACEHOLDER = /\$\{([^}]*)\}/g
const KNOWN_PLACEHOLDERS = new Set(['FRONTEND_URL', 'jobId'])

/** A template that cannot produce a sendable message; boot stops with this. */
export class InvalidTemplate extends Error {
  override name = 'InvalidTemplate'
}

export interface ResultReadyTemplate {
  render(jobId: string): string
}

/**
 * Reads the result-ready text, which holds `${FRONTEND_URL}` and `${jobId}`, and checks
 * it once at boot rather than on every request: unknown placeholders, and text that
 * would not fit an LMS or holds characters carriers refuse, are reported then.
 */
export async function loadResultReadyTemplate(
  path: string = BUNDLED_RESULT_READY_TEMPLATE,
  frontendUrl: string,
): Promise<ResultReadyTemplate> {
  let source: string
  try {
    source = (await readFile(path, 'utf8')).trimEnd()
  } catch (error) {
    throw new InvalidTemplate(`cannot read the result-ready template ${path}: ${(error as Error).message}`)
  }
  const unknown = [...source.matchAll(PLACEHOLDER)].map((match) => match[1]).filter((name) => !KNOWN_PLACEHOLDERS.has(name))
  if (unknown.length > 0) {
    throw new InvalidTemplate(
      `the result-ready template ${path} uses unknown placeholders ${unknown.map((name) => `\${${name}}`).join(', ')}; known: \${FRONTEND_URL}, \${jobId}`,
    )
  }
  const base = frontendUrl.replace(/\/+$/, '')
  const template: ResultReadyTemplate = {
    render: (jobId) =>
      source.replace(PLACEHOLDER, (_match, name: string) => (name === 'jobId' ? encodeURIComponent(jobId) : base)),
  }
  try {
    measureText(template.render('x'.repeat(JOB_ID_MAX_LENGTH)))
  } catch (error) {
    if (error instanceof UnsendableText) {
      throw new InvalidTemplate(`the result-ready template ${path} cannot be sent: ${error.message}`)
    }
    throw error
  }
  return template
}
