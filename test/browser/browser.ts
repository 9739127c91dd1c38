import { existsSync } from 'node:fs'
import { mkdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { describe } from 'vitest'
import { findProjectRoot } from '../../services/core/project-root.js'
import { buildTestApp, tempDir, type TestApp } from '../helpers/app.js'
import { addPageChecks } from './page-checks.js'

export const CHROMIUM = '/usr/bin/chromium'

const available = existsSync(CHROMIUM)
if (!available) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${CHROMIUM} is missing: install it (apt-get install -y chromium) so the browser tests can run.`)
  process.stderr.write(`\n!!! ${CHROMIUM} is missing: the browser tests are SKIPPED. Install it with: apt-get install -y chromium\n\n`)
}

/** `describe` for tests that drive Chromium; skipped (loudly, above) without it. */
export const describeBrowser = available ? describe : describe.skip

export const SCREENSHOTS = join(findProjectRoot(), 'test-results', 'setup-wizard')

export interface Browser {
  context: BrowserContext
  /** A new tab: its own sessionStorage, so each flow starts without a token. */
  page(viewport?: { width: number; height: number }): Promise<Page>
  /** What went wrong inside the pages since the last call: uncaught errors, refused scripts (CSP, MIME type). */
  takeProblems(): string[]
  close(): Promise<void>
}

/** One headless Chromium on a fresh profile folder; a file launches it once and opens a tab per flow. */
export async function launchBrowser(): Promise<Browser> {
  const profile = await tempDir('groundwork-chromium-')
  await mkdir(SCREENSHOTS, { recursive: true })
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    viewport: { width: 1100, height: 900 },
    locale: 'en-GB',
    timezoneId: 'UTC',
  })
  await addPageChecks(context)
  const problems: string[] = []
  context.on('weberror', (error) => problems.push(`uncaught: ${error.error().message}`))
  context.on('console', (message) => {
    // An HTTP error status (a rejected token, a failed setup) is part of the flows under test.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource:')) problems.push(`console: ${message.text()}`)
  })
  return {
    context,
    async page(viewport) {
      const page = await context.newPage()
      if (viewport) await page.setViewportSize(viewport)
      return page
    },
    takeProblems: () => problems.splice(0),
    async close() {
      await context.close()
      await rm(profile, { recursive: true, force: true })
    },
  }
}

export interface Served extends TestApp {
  url: string
}

/** The production app on a real socket, as a browser reaches it. */
export async function serveApp(env: Record<string, string | undefined> = {}, options: { seedPglite?: boolean; before?: (t: TestApp) => void } = {}): Promise<Served> {
  const t = await buildTestApp(env, options)
  options.before?.(t)
  await t.ready()
  const address = await t.app.listen({ port: 0, host: '127.0.0.1' })
  return {
    ...t,
    url: address,
    async close() {
      // The shared browser profile keeps its keep-alive sockets after a tab closes; one that was
      // busy when the close began would hold app.close() for the keep-alive timeout (72 s).
      const closing = t.close()
      t.app.server.closeAllConnections()
      await closing
    },
  }
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}
