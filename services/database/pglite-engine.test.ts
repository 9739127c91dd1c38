import { afterEach, describe, expect, it, vi } from 'vitest'
import { pino } from 'pino'
import { tempDir, testConfig } from '../../test/helpers/app.js'
import { openConnection } from './connection.js'
import { compileEngineAhead, compilingWhole } from './pglite-engine.js'

// PGlite's WebAssembly calls, to see which engine it instantiated (the global is typed only in part here).
const wasm = globalThis.WebAssembly as unknown as { instantiate: (source: unknown, imports?: unknown) => Promise<unknown> }

afterEach(() => {
  vi.restoreAllMocks()
})

describe("PGlite's engine compiled ahead", () => {
  it('is the engine the embedded database opens on, and the database works', { timeout: 180_000 }, async () => {
    const engine = await compileEngineAhead()
    const instantiate = vi.spyOn(wasm, 'instantiate')
    const source = { claim: async () => null, engine: async () => engine }
    const connection = await openConnection('pglite', testConfig({ PERSISTENT_DATA_DIR: await tempDir() }), pino({ level: 'silent' }), { prepared: source })
    try {
      expect(instantiate.mock.calls.map(([given]) => given)).toContain(engine)
      const result = await connection.pglite!.query<{ sum: number }>('select 40 + 2 as sum')
      expect(result.rows).toEqual([{ sum: 42 }])
    } finally {
      await connection.close()
    }
  })

  it('turns lazy compilation off for its one compilation and back on, also when the compilation fails', async () => {
    const setFlags = vi.fn()
    await expect(compilingWhole(() => Promise.reject(new RangeError('WebAssembly.compile(): Out of memory')), setFlags, [])).rejects.toThrow('Out of memory')
    expect(setFlags.mock.calls).toEqual([['--no-wasm-lazy-compilation'], ['--wasm-lazy-compilation']])
    setFlags.mockClear()
    expect(await compilingWhole(async () => 'compiled', setFlags, [])).toBe('compiled')
    expect(setFlags.mock.calls).toEqual([['--no-wasm-lazy-compilation'], ['--wasm-lazy-compilation']])
  })

  it('leaves the flag alone when the command line sets it (the operator chose)', async () => {
    const setFlags = vi.fn()
    for (const flag of ['--no-wasm-lazy-compilation', '--wasm_lazy_compilation']) await compilingWhole(async () => 'compiled', setFlags, ['--max-semi-space-size=8', flag])
    expect(setFlags).not.toHaveBeenCalled()
  })

  it('is compiled once for callers that ask at the same time', async () => {
    const [a, b] = await Promise.all([compileEngineAhead(), compileEngineAhead()])
    expect(a).toBe(b)
  })
})
