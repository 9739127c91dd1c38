import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { TEST_ADMIN_TOKEN, describePostgres, itNoPostgres } from '../helpers/app.js'
import { adminQuery, createTestDatabase, type TestDatabase } from '../helpers/postgres.js'
import { describeBrowser, launchBrowser, screenshot, serveApp, type Browser, type Served } from './browser.js'
import { REAL_TAGS } from '../helpers/migrations.js'
import { closedPort } from '../helpers/network.js'
import { fitsWidth, focused, historyLength, lowContrastTexts, sessionStorageSize } from './page-checks.js'

const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 2, name })

async function unlock(page: Page, token = TEST_ADMIN_TOKEN): Promise<void> {
  await heading(page, 'Unlock the setup').waitFor()
  await page.getByLabel('Admin token').fill(token)
  await page.getByRole('button', { name: 'Unlock' }).click()
}

async function choose(page: Page, kind: 'Embedded (PGlite)' | 'PostgreSQL'): Promise<void> {
  await heading(page, 'Choose a database').waitFor()
  await page.getByRole('radio', { name: kind }).check()
  await page.getByRole('button', { name: 'Continue' }).click()
}

/** Opens the wizard in a new tab and walks it to the PostgreSQL check, pressing Test connection. */
async function testConnection(browser: Browser, s: Served): Promise<Page> {
  const page = await browser.page()
  await page.goto(`${s.url}/setup/`)
  await unlock(page)
  await choose(page, 'PostgreSQL')
  await page.getByRole('button', { name: 'Test connection' }).click()
  return page
}

async function checkResults(page: Page): Promise<Record<string, string>> {
  const items = page.locator('#pg-checks > li')
  await items.first().waitFor()
  const results: Record<string, string> = {}
  for (const item of await items.all()) results[(await item.getAttribute('data-check')) ?? '?'] = (await item.getAttribute('data-status')) ?? '?'
  return results
}

describeBrowser('the /setup wizard in Chromium', () => {
  let browser: Browser
  const running: Served[] = []

  async function serve(...args: Parameters<typeof serveApp>): Promise<Served> {
    const served = await serveApp(...args)
    running.push(served)
    return served
  }

  beforeAll(async () => {
    browser = await launchBrowser()
  })
  afterEach(async () => {
    for (const page of browser.context.pages()) await page.close()
    await Promise.all(running.splice(0).map((served) => served.close()))
    // Every module loaded (same origin, a JavaScript type, allowed by the CSP) and nothing threw.
    expect(browser.takeProblems()).toEqual([])
  })
  afterAll(() => browser?.close())

  itNoPostgres('takes a person from / through a fresh embedded setup, and then shows it as set up', { timeout: 120_000 }, async () => {
    const s = await serve()
    const page = await browser.page()
    await page.goto(`${s.url}/`)
    await heading(page, 'Unlock the setup').waitFor()
    expect(new URL(page.url()).pathname).toBe('/setup/unlock')

    await unlock(page)
    await choose(page, 'Embedded (PGlite)')
    await heading(page, 'Embedded database').waitFor()
    expect(await page.locator('#embedded-dir').textContent()).toBe(join(s.dataDir, 'pglite'))
    expect(existsSync(join(s.dataDir, 'db.selection.json'))).toBe(false)

    await page.getByRole('button', { name: 'Set up the embedded database' }).click()
    await heading(page, 'Set up complete').waitFor({ timeout: 90_000 })
    const facts = await page.locator('#finish-facts').innerText()
    expect(facts).toContain('Embedded (PGlite)')
    expect(facts).toContain(`${REAL_TAGS.length} (${REAL_TAGS.join(', ')})`)
    expect(await page.locator('#finish-restart').isHidden()).toBe(true)
    expect(await sessionStorageSize(page)).toBe(0)
    expect(await lowContrastTexts(page)).toEqual([])
    await screenshot(page, 'embedded-done')

    const selection = JSON.parse(await readFile(join(s.dataDir, 'db.selection.json'), 'utf8'))
    expect(selection.type).toBe('pglite')
    expect((await s.app.inject({ method: 'GET', url: '/api/db/status' })).json()).toMatchObject({ initialized: true, type: 'pglite' })

    await page.reload()
    await heading(page, 'Already set up').waitFor()
    expect(await page.locator('#configured-facts').innerText()).toContain('Embedded (PGlite)')
  })

  itNoPostgres('shows an already set-up service as such, with nothing that could run the setup again', async () => {
    const s = await serve({}, { seedPglite: true })
    const page = await browser.page()
    await page.goto(`${s.url}/setup/choose`)
    await heading(page, 'Already set up').waitFor()
    expect(new URL(page.url()).pathname).toBe('/setup/')
    const facts = await page.locator('#configured-facts').innerText()
    expect(facts).toMatch(/Database\s+Embedded \(PGlite\)/)
    expect(facts).toMatch(/State\s+Ready/)
    expect(facts).toMatch(new RegExp(`Migrations\\s+${REAL_TAGS.length} of ${REAL_TAGS.length} applied`))
    expect(await page.getByRole('button').count()).toBe(0)
    expect(await page.getByRole('textbox').count()).toBe(0)
    expect(await lowContrastTexts(page)).toEqual([])
    await screenshot(page, 'already-set-up')

    await page.emulateMedia({ colorScheme: 'dark' })
    expect(await lowContrastTexts(page)).toEqual([])
    await screenshot(page, 'already-set-up-dark')

    const root = await s.app.inject({ method: 'GET', url: '/' })
    expect(root.statusCode).toBe(200)
    expect(root.json()).toMatchObject({ service: 'groundwork', database: { type: 'pglite', ready: true } })
  })

  itNoPostgres('says where the generated token is, rejects a wrong one at the unlock step, and accepts the one from that file', async () => {
    const s = await serve({ ADMIN_TOKEN: undefined })
    const tokenFile = join(s.dataDir, 'admin.token')
    const page = await browser.page()
    await page.goto(`${s.url}/setup`)
    await heading(page, 'Unlock the setup').waitFor()
    await page.getByText(`cat ${tokenFile}`).waitFor()

    await unlock(page, 'not-the-admin-token-at-all')
    const error = page.locator('#token-error')
    await error.getByText('not the admin token').waitFor()
    const input = page.getByLabel('Admin token')
    expect(await input.getAttribute('aria-invalid')).toBe('true')
    expect((await input.getAttribute('aria-describedby'))?.split(' ')).toContain('token-error')
    expect((await focused(page)).id).toBe('token')
    expect(await heading(page, 'Choose a database').count()).toBe(0)
    expect(await sessionStorageSize(page)).toBe(0)
    expect(await lowContrastTexts(page)).toEqual([])
    await screenshot(page, 'wrong-token')

    const token = (await readFile(tokenFile, 'utf8')).trim()
    await unlock(page, token)
    await heading(page, 'Choose a database').waitFor()
    expect(page.url()).not.toContain(token)
    expect(await input.getAttribute('aria-invalid')).toBeNull()
  })

  itNoPostgres('shows the failing check and its remedy for an unreachable PostgreSQL, writes nothing, and fits a phone screen', async () => {
    const port = await closedPort()
    const s = await serve({ POSTGRES_HOST: '127.0.0.1', POSTGRES_PORT: String(port), POSTGRES_DATABASE: 'app', POSTGRES_USER: 'app' })
    const page = await browser.page({ width: 390, height: 844 })
    await page.goto(`${s.url}/setup/`)
    await unlock(page)
    await choose(page, 'PostgreSQL')
    await heading(page, 'Check the PostgreSQL connection').waitFor()
    await page.getByRole('button', { name: 'Test connection' }).click()

    expect(await checkResults(page)).toEqual({
      settings: 'passed',
      reachable: 'failed',
      login: 'skipped',
      database: 'skipped',
      version: 'skipped',
      permissions: 'skipped',
      contents: 'skipped',
      plugins: 'skipped',
    })
    const failing = page.locator('#pg-checks > li[data-check="reachable"]')
    expect(await failing.innerText()).toContain(`Nothing accepts connections at 127.0.0.1:${port} (connection refused)`)
    expect(await failing.locator('.check-remedy').innerText()).toMatch(/What to do:.*POSTGRES_HOST and POSTGRES_PORT/)
    expect(await page.locator('#pg-report-status').innerText()).toBe('One check failed. Fix it, then test again.')
    expect(await page.getByRole('button', { name: 'Set up PostgreSQL' }).count()).toBe(0)
    expect(await fitsWidth(page)).toBe(true)
    expect(await lowContrastTexts(page)).toEqual([])
    await screenshot(page, 'unreachable-phone')

    expect(existsSync(join(s.dataDir, 'db.selection.json'))).toBe(false)
    expect((await s.app.inject({ method: 'GET', url: '/api/db/status' })).json()).toMatchObject({ configured: false, setup_in_progress: false })
  })

  itNoPostgres('tells which PostgreSQL variables are missing when choosing, and how to set them', async () => {
    const s = await serve({ POSTGRES_HOST: 'db.internal' })
    const page = await browser.page()
    await page.goto(`${s.url}/setup/`)
    await unlock(page)
    await heading(page, 'Choose a database').waitFor()
    expect(await page.locator('#pg-facts').innerText()).toMatch(/Host\s+db\.internal[\s\S]*Password\s+not set/)
    expect(await page.locator('#pg-missing').innerText()).toContain('To use PostgreSQL, set POSTGRES_DATABASE, POSTGRES_USER')
    expect(await page.locator('#pg-missing-example').innerText()).toContain('POSTGRES_HOST=db.internal')
    // Without complete PostgreSQL settings, the embedded database is the preselected default.
    expect(await page.getByRole('radio', { name: 'Embedded (PGlite)' }).isChecked()).toBe(true)

    await page.getByRole('radio', { name: 'PostgreSQL' }).check()
    await page.getByRole('button', { name: 'Continue' }).click()
    await page.locator('#choose-error').getByText('PostgreSQL cannot be used yet').waitFor()
    expect(await page.locator('fieldset').getAttribute('aria-describedby')).toBe('choose-error')
    expect(await heading(page, 'Choose a database').count()).toBe(1)
    await screenshot(page, 'postgres-missing-variables')
  })

  itNoPostgres('keeps the step and the token across reloads and the back button, never in the URL', async () => {
    const s = await serve()
    const page = await browser.page()
    await page.goto(`${s.url}/setup/`)
    await unlock(page)
    await heading(page, 'Choose a database').waitFor()

    await page.reload()
    await heading(page, 'Choose a database').waitFor()
    await choose(page, 'Embedded (PGlite)')
    await heading(page, 'Embedded database').waitFor()
    expect(new URL(page.url()).pathname).toBe('/setup/embedded')

    await page.reload()
    await heading(page, 'Embedded database').waitFor()
    expect(await page.locator('#embedded-dir').textContent()).toBe(join(s.dataDir, 'pglite'))
    await screenshot(page, 'reloaded-embedded-step')

    await page.goBack()
    await heading(page, 'Choose a database').waitFor()
    expect(page.url()).not.toContain(TEST_ADMIN_TOKEN)
    expect(await historyLength(page)).toBeGreaterThan(1)
    expect(existsSync(join(s.dataDir, 'db.selection.json'))).toBe(false)
  })

  describePostgres('against the real PostgreSQL server', () => {
    const databases: TestDatabase[] = []
    afterEach(async () => {
      await Promise.all(databases.splice(0).map((db) => db.drop()))
    })
    async function database(): Promise<TestDatabase> {
      const db = await createTestDatabase()
      databases.push(db)
      return db
    }

    it('tests the connection, then sets up PostgreSQL', async () => {
      const db = await database()
      const s = await serve(db.env)
      const page = await browser.page()
      await page.goto(`${s.url}/`)
      await unlock(page)
      await choose(page, 'PostgreSQL')
      await heading(page, 'Check the PostgreSQL connection').waitFor()
      expect(await page.locator('#pg-target').innerText()).toMatch(new RegExp(`Database\\s+${db.name}[\\s\\S]*Password\\s+${db.env.POSTGRES_PASSWORD ? 'set' : 'not set'}`))

      await page.getByRole('button', { name: 'Test connection' }).click()
      expect(Object.values(await checkResults(page))).toEqual(Array(8).fill('passed'))
      expect(await page.locator('#pg-checks').innerText()).toMatch(/accepted a connection in \d+ ms/)
      expect(await page.locator('#pg-checks').innerText()).toContain('The database is empty')
      await screenshot(page, 'postgres-checked')

      await page.getByRole('button', { name: 'Set up PostgreSQL' }).click()
      await heading(page, 'Set up complete').waitFor()
      expect(await page.locator('#finish-facts').innerText()).toContain(`${db.env.POSTGRES_USER}@${db.env.POSTGRES_HOST}:${db.env.POSTGRES_PORT}/${db.name}`)
      expect(await lowContrastTexts(page)).toEqual([])
      await screenshot(page, 'postgres-done')

      expect(await db.query('select database_type from instance')).toEqual([{ database_type: 'postgresql' }])
      expect(JSON.parse(await readFile(join(s.dataDir, 'db.selection.json'), 'utf8')).type).toBe('postgresql')
    })

    it('can be completed with the keyboard alone, with a visible focus at every stop', async () => {
      const db = await database()
      const s = await serve(db.env)
      const page = await browser.page()
      await page.goto(`${s.url}/setup/`)
      await heading(page, 'Unlock the setup').waitFor()
      const tab = async (expectedId: string) => {
        await page.keyboard.press('Tab')
        const now = await focused(page)
        expect(now).toEqual({ id: expectedId, outline: true })
      }

      await tab('token')
      await page.keyboard.type(TEST_ADMIN_TOKEN)
      await page.keyboard.press('Enter')
      await heading(page, 'Choose a database').waitFor()
      // Complete PostgreSQL settings make PostgreSQL the preselected choice; arrows change it.
      await tab('kind-postgresql')
      await page.keyboard.press('ArrowUp')
      expect(await page.getByRole('radio', { name: 'Embedded (PGlite)' }).isChecked()).toBe(true)
      await page.keyboard.press('ArrowDown')
      expect(await page.getByRole('radio', { name: 'PostgreSQL' }).isChecked()).toBe(true)
      await tab('choose-submit')
      await page.keyboard.press('Enter')
      await heading(page, 'Check the PostgreSQL connection').waitFor()
      await tab('pg-test')
      await page.keyboard.press('Enter')
      await page.getByText('All checks passed').waitFor()
      await tab('pg-setup')
      await screenshot(page, 'keyboard-focus-on-setup')
      await page.keyboard.press('Enter')
      await heading(page, 'Set up complete').waitFor()
      expect(await db.query('select database_type from instance')).toHaveLength(1)
    })

    it('lets a person fix a missing database and test again, without restarting anything', async () => {
      const db = await database()
      const missing = `${db.name}_later`
      const s = await serve({ ...db.env, POSTGRES_DATABASE: missing })
      const page = await testConnection(browser, s)
      expect(await checkResults(page)).toMatchObject({ reachable: 'passed', login: 'passed', database: 'failed', version: 'skipped' })
      expect(await page.locator('#pg-checks > li[data-check="database"]').innerText()).toContain(`createdb -h ${db.env.POSTGRES_HOST} -p ${db.env.POSTGRES_PORT} -U ${db.env.POSTGRES_USER} ${missing}`)
      await screenshot(page, 'postgres-database-missing')

      await adminQuery(`create database "${missing}"`)
      try {
        await page.getByRole('button', { name: 'Test again' }).click()
        await page.getByText('All checks passed').waitFor()
        await page.getByRole('button', { name: 'Set up PostgreSQL' }).click()
        await heading(page, 'Set up complete').waitFor()
      } finally {
        await adminQuery(`drop database if exists "${missing}" with (force)`)
      }
    })

    it('shows a failed setup in plain words with its remedy, and succeeds when retried after the fix', async () => {
      const db = await database()
      const s = await serve(db.env)
      const page = await testConnection(browser, s)
      await page.getByText('All checks passed').waitFor()

      await adminQuery(`drop database "${db.name}" with (force)`)
      await page.getByRole('button', { name: 'Set up PostgreSQL' }).click()
      await heading(page, 'The setup did not finish').waitFor()
      expect(await page.locator('#finish-error-text').innerText()).toContain(`The database "${db.name}" does not exist on ${db.env.POSTGRES_HOST}:${db.env.POSTGRES_PORT}. Create it`)
      expect(await page.locator('#finish-error-code').innerText()).toBe('Error code: database_not_found')
      expect(existsSync(join(s.dataDir, 'db.selection.json'))).toBe(false)
      expect(await lowContrastTexts(page)).toEqual([])
      await screenshot(page, 'postgres-setup-failed')

      await adminQuery(`create database "${db.name}"`)
      await page.getByRole('button', { name: 'Try again' }).click()
      await heading(page, 'Set up complete').waitFor()
      expect(await db.query('select database_type from instance')).toHaveLength(1)
    })

    it('warns about tables that are not ours and asks for confirmation before setting up beside them', async () => {
      const db = await database()
      await db.query('create table customers (id int primary key)')
      const s = await serve(db.env)
      const page = await testConnection(browser, s)
      expect((await checkResults(page)).contents).toBe('warning')
      expect(await page.locator('#pg-checks > li[data-check="contents"]').innerText()).toContain('public.customers')

      const setUp = page.getByRole('button', { name: 'Set up PostgreSQL' })
      expect(await setUp.isDisabled()).toBe(true)
      await page.getByLabel('Set up in this database anyway').check()
      expect(await setUp.isEnabled()).toBe(true)
      await screenshot(page, 'postgres-foreign-tables')
      await setUp.click()
      await heading(page, 'Set up complete').waitFor()
      expect(await db.query('select count(*)::int as n from customers')).toEqual([{ n: 0 }])
    })

    it('says what to restart and why when a service could not start after the setup', async () => {
      const db = await database()
      const s = await serve(db.env, {
        before: (t) =>
          t.app.lifecycle.register({
            name: 'mailer',
            start: async () => {
              throw new Error('SMTP server not reachable')
            },
          }),
      })
      const page = await testConnection(browser, s)
      await page.getByText('All checks passed').waitFor()
      await page.getByRole('button', { name: 'Set up PostgreSQL' }).click()
      await heading(page, 'Set up complete').waitFor()
      const restart = page.locator('#finish-restart')
      expect(await restart.isVisible()).toBe(true)
      expect(await restart.innerText()).toMatch(/Restart the server[\s\S]*mailer could not start\. The server retries it on its own/)
      expect(await page.locator('#finish-facts').innerText()).toMatch(/Restart needed\s+yes/)
      await screenshot(page, 'postgres-restart-required')
    })
  })
})
