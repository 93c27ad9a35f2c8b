import { existsSync } from 'node:fs'
import { chromium, type BrowserContextOptions, type Page } from 'playwright-core'

// CI installs Debian's chromium (.ci/run); playwright's own download cannot run here.
const CHROMIUM = '/usr/bin/chromium'

interface BrowserTest {
  teardown(fn: () => unknown): void
  fail(message: string): void
}

/**
 * A page in headless Chromium, closed when the test ends, with `errors` collecting every
 * script error and console error the page raised (a CSP violation included). A failed
 * fetch is logged as "Failed to load resource" and is left out: pages meet 401s and 409s
 * on purpose. Undefined, with the test failed, when Chromium is missing.
 */
export async function openPage(t: BrowserTest, options: BrowserContextOptions = {}): Promise<{ page: Page; errors: string[] } | undefined> {
  if (!existsSync(CHROMIUM)) {
    t.fail(`${CHROMIUM} is missing: apt-get install -y --no-install-recommends chromium (.ci/run does this in CI)`)
    return undefined
  }
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  })
  t.teardown(() => browser.close())
  const page = await (await browser.newContext(options)).newPage()
  page.setDefaultTimeout(15_000)
  const errors: string[] = []
  page.on('pageerror', (error) => errors.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error' && !/Failed to load resource/.test(message.text())) errors.push(message.text())
  })
  return { page, errors }
}
