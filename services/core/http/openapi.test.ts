import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildTestApp, type TestApp } from '../../../test/helpers/app.js'
import { PLUGIN_FOLDERS } from '../../../test/helpers/plugins.js'

const run = promisify(execFile)

/**
 * Public probes that cannot answer any 4xx: declaring one would be a lie, so Redocly's
 * "operation-4xx-response" warning is expected for exactly these and nothing else.
 */
const NO_CLIENT_ERROR = ['/health', '/ready', '/api/db/status', '/', '/api/setup/token-hint']

interface LintProblem {
  ruleId: string
  severity: 'error' | 'warn'
  message: string
  location: { pointer: string }[]
}

describe('GET /api/openapi.json', () => {
  let t: TestApp
  let spec: {
    paths: Record<string, Record<string, { operationId?: string; summary?: string; security?: unknown[]; responses: Record<string, unknown>; requestBody?: never }>>
    components: { securitySchemes: Record<string, unknown> }
  }
  beforeAll(async () => {
    // With the shipped plugins, so their routes are held to the same rules.
    t = await buildTestApp({}, { config: { pluginsFolder: PLUGIN_FOLDERS.shipped } })
    const res = await t.app.inject({ method: 'GET', url: '/api/openapi.json' })
    expect(res.statusCode).toBe(200)
    spec = res.json()
  })
  afterAll(() => t.close())

  it('passes Redocly\'s recommended lint with no errors, as a client generator would read it', async () => {
    const file = join(t.dataDir, 'openapi.json')
    await writeFile(file, JSON.stringify(spec))
    // redocly exits 1 when it finds errors; the JSON report is on stdout either way.
    const { stdout } = await run(join(process.cwd(), 'node_modules', '.bin', 'redocly'), ['lint', file, '--format=json'], { env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } }).catch(
      (error: { stdout: string }) => ({ stdout: error.stdout }),
    )
    const report = JSON.parse(stdout) as { totals: { errors: number }; problems: LintProblem[] }
    expect(report.problems.filter((p) => p.severity === 'error')).toEqual([])
    expect(report.totals.errors).toBe(0)
    const warnings = report.problems.map((p) => `${p.ruleId} ${p.location[0]?.pointer}`)
    const expected = ['info-license #/info', ...NO_CLIENT_ERROR.map((path) => `operation-4xx-response #/paths/${path.replace(/\//g, '~1')}/get/responses`)]
    expect(warnings.sort()).toEqual(expected.sort())
  })

  it('gives every operation an operationId, a summary and its security, and every admin route its 401 and 429', () => {
    const operations = Object.entries(spec.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method, op })))
    expect(operations.length).toBeGreaterThan(5)
    const ids = new Set<string>()
    for (const { path, method, op } of operations) {
      expect(op.operationId, `${method} ${path}`).toMatch(/^[a-z][A-Za-z]+$/)
      expect(ids.has(op.operationId!), `operationId ${op.operationId} is used twice`).toBe(false)
      ids.add(op.operationId!)
      expect(op.summary, `${method} ${path}`).toBeTruthy()
      if (op.security && op.security.length > 0) {
        expect(op.security).toEqual([{ adminToken: [] }])
        expect(Object.keys(op.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['401', '429']))
      }
    }
    expect(spec.components.securitySchemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('documents the setup route from its schemas: body, answers and bearer security', () => {
    const setup = spec.paths['/api/db/setup']!.post!
    expect(setup.security).toEqual([{ adminToken: [] }])
    expect((setup.requestBody as unknown as { content: Record<string, { schema: { properties: { type: { enum: string[] } } } }> }).content['application/json']!.schema.properties.type.enum).toEqual(['pglite', 'postgresql'])
    expect(Object.keys(setup.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '409', '429', '500', '502', '503']))
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/api/db/status', '/health', '/ready', '/api/setup/options', '/api/setup/preflight']))
    expect(Object.keys(spec.paths)).not.toContain('/setup/unlock')
  })

  it('declares on every write of the stores the answers the database can give it: a conflict (409) and a full disk (507)', () => {
    const writes = [
      ['/api/kv/{key}', 'put'],
      ['/api/settings/{key}', 'put'],
      ['/api/settings/{key}', 'delete'],
      ['/api/settings', 'patch'],
    ] as const
    for (const [path, method] of writes) expect(Object.keys(spec.paths[path]![method]!.responses), `${method} ${path}`).toEqual(expect.arrayContaining(['409', '503', '507']))
    expect(Object.keys(spec.paths['/api/kv/{key}']!.delete!.responses)).toEqual(expect.arrayContaining(['409', '503']))
  })
})
