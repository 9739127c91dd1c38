import { readFile } from 'node:fs/promises'
import { findPackageJSON } from 'node:module'
import { dirname, join } from 'node:path'
import { setFlagsFromString } from 'node:v8'

// TypeScript declares the WebAssembly global in its DOM library, which this project does not load.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace WebAssembly {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type
    interface Module {}
    function compile(bytes: Uint8Array): Promise<Module>
  }
}

/**
 * PGlite's engine, pglite.wasm (9 MB), compiled whole, for the first embedded setup of an
 * unconfigured server: the background preparation compiles it while the server waits in the
 * wizard, and the setup opens the database on it.
 *
 * V8 compiles WebAssembly lazily: each function the first time it is called, on the calling
 * thread. Opening the embedded database runs thousands of PostgreSQL's functions for the first
 * time, so a setup spends much of its time compiling on the event loop, and requests wait behind
 * it. Compiled whole (V8's --no-wasm-lazy-compilation, for this one module), the work runs on V8's
 * background threads: ~0.2 s and ~0.35 s of CPU, with the event loop free. The price is memory:
 * every function's code, used or not, stays as long as the database is open (measured in README
 * "Performance"). A restart opens the database with PGlite's own lazily compiled engine, so the
 * idle server keeps its figure.
 */
export function compileEngineAhead(): Promise<WebAssembly.Module> {
  compiling ??= compile().finally(() => (compiling = null))
  return compiling
}

// One compilation at a time per process: the flag is the process's, and is put back after it.
let compiling: Promise<WebAssembly.Module> | null = null

async function compile(): Promise<WebAssembly.Module> {
  const bytes = await readFile(engineFile())
  return compilingWhole(() => WebAssembly.compile(bytes))
}

/**
 * Runs `compile` with V8's lazy WebAssembly compilation off, and turns it back on after, whether
 * it succeeded or not. A flag given on the command line is the operator's choice: left as it is.
 * (`setFlags` and `execArgv` are parameters for the tests.)
 */
export async function compilingWhole<T>(compile: () => Promise<T>, setFlags = setFlagsFromString, execArgv = process.execArgv): Promise<T> {
  const chosen = execArgv.some((arg) => /^--(no-)?wasm[-_]lazy[-_]compilation$/.test(arg))
  if (!chosen) setFlags('--no-wasm-lazy-compilation')
  try {
    return await compile()
  } finally {
    if (!chosen) setFlags('--wasm-lazy-compilation')
  }
}

/** The file PGlite itself loads: dist/pglite.wasm of the installed package. */
function engineFile(): string {
  const manifest = findPackageJSON('@electric-sql/pglite', import.meta.url)
  if (!manifest) throw new Error('cannot find the installed @electric-sql/pglite')
  return join(dirname(manifest), 'dist', 'pglite.wasm')
}
