import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const hook = new URL('./drizzle-commonjs.ts', import.meta.url).href
const root = fileURLToPath(new URL('../..', import.meta.url))

/** Runs `code` as an ES module in a fresh Node (the one running the tests) with tsx, from the project root. */
async function run(code: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root })
  return stdout.trim()
}

describe('loading Drizzle as CommonJS in the server', () => {
  const probe = `
    const { sql, eq } = await import('drizzle-orm')
    const { pgTable, text } = await import('drizzle-orm/pg-core')
    await import('drizzle-orm/pglite')
    await import('drizzle-orm/node-postgres')
    const { createRequire } = await import('node:module')
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((file) => file.includes('/drizzle-orm/'))
    const t = pgTable('t', { k: text('k') })
    console.log(JSON.stringify({ resolved: import.meta.resolve('drizzle-orm/pg-core'), commonJsFiles: loaded.length, works: typeof sql === 'function' && eq(t.k, 'x') !== undefined }))`

  it('resolves every drizzle-orm import to its CommonJS build once the hook is in place', async () => {
    const result = JSON.parse(await run(`const { loadDrizzleAsCommonJs } = await import(${JSON.stringify(hook)}); loadDrizzleAsCommonJs(); ${probe}`))
    expect(result.resolved).toMatch(/\/drizzle-orm\/pg-core\/index\.cjs$/)
    expect(result.commonJsFiles).toBeGreaterThan(50)
    expect(result.works).toBe(true)
  })

  it('leaves the ES module build in place without it (the check above can fail)', async () => {
    const result = JSON.parse(await run(probe))
    expect(result.resolved).toMatch(/\/drizzle-orm\/pg-core\/index\.js$/)
    expect(result.commonJsFiles).toBe(0)
  })
})
