import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { NodeFS } from '@electric-sql/pglite/nodefs'

/**
 * PGlite runs in the server's thread, and each of its queries is one synchronous call into WASM.
 * Its promises resolve as microtasks, so a run of queries (opening the database, a setup's
 * settings and job queue) blocks the event loop from the first to the last: health probes sent
 * meanwhile waited up to ~350 ms in `bench/embedded-setup.ts`. The helpers here let the event
 * loop poll for I/O between those queries while a database is being opened and its services
 * start, so a probe waits for one query at most, not the whole run.
 */

/**
 * Resolves after the event loop has polled for I/O once. One setImmediate is not enough: called
 * from the poll phase, its callback runs in the check phase that directly follows, before any new
 * I/O is read; the second one runs in the next turn of the loop, after its poll phase.
 */
export function yieldToIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
}

/**
 * Opens the PGlite data folder `dataDir` so that the event loop runs between the three parts of
 * the opening, each one synchronous call into WASM: loading the module and PostgreSQL's pre-run
 * (~50 ms here), starting PostgreSQL (~65–75 ms) and loading its array types, its first catalog
 * query (~65 ms). In one piece they blocked the loop for ~130 + ~90 ms. The two hooks are
 * PGlite's own steps, public in its typings (`initialSyncFs`, `_initArrayTypes`); if a version
 * drops one, `override` stops the build.
 */
export function openYieldingPglite(dataDir: string, options: Omit<PGliteOptions, 'dataDir' | 'fs'>): PGlite {
  return new YieldingPGlite({ ...options, dataDir, fs: new YieldingNodeFS(dataDir) })
}

class YieldingNodeFS extends NodeFS {
  override async initialSyncFs(): Promise<void> {
    await yieldToIo()
    return super.initialSyncFs()
  }
}

class YieldingPGlite extends PGlite {
  override async _initArrayTypes(options?: { force?: boolean }): Promise<void> {
    await yieldToIo()
    return super._initArrayTypes(options)
  }
}

export interface QueryYield {
  /** From now on queries run without waiting, once those already waiting have gone. */
  stop(): void
}

/**
 * Until stop(), every query, exec and transaction of `client` first lets the event loop poll for
 * I/O. The calls keep their order: each waits the same two turns of the loop, and after stop(),
 * calls still wait while earlier ones are waiting. Queries inside a transaction are the
 * transaction's own and never wait.
 */
export function yieldBetweenQueries(client: PGlite): QueryYield {
  let active = true
  let waiting = 0
  const methods = client as unknown as Record<'query' | 'exec' | 'transaction', (...args: unknown[]) => Promise<unknown>>
  for (const name of ['query', 'exec', 'transaction'] as const) {
    const original = methods[name].bind(client)
    methods[name] = async (...args: unknown[]) => {
      if (active || waiting > 0) {
        waiting++
        try {
          await yieldToIo()
        } finally {
          waiting--
        }
      }
      return original(...args)
    }
  }
  return {
    stop() {
      active = false
    },
  }
}
