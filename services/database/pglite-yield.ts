import { PGlite, type PGliteOptions } from '@electric-sql/pglite'
import { NodeFS } from '@electric-sql/pglite/nodefs'

/**
 * PGlite runs in the server's thread, and each message of each query is one synchronous call into
 * WASM. Its promises resolve as microtasks, so a run of queries (opening the database, a setup's
 * settings and job queue) blocks the event loop from the first to the last: health probes sent
 * meanwhile waited up to ~350 ms in `bench/embedded-setup.ts`. The helpers here let the event
 * loop poll for I/O between those calls while a database is being opened and its services start,
 * so a probe waits for one call at most, not the whole run.
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
 * Opens the PGlite data folder `dataDir` so that the event loop polls for I/O between the
 * synchronous calls into WASM that opening it and running its first queries take: loading the
 * module and PostgreSQL's pre-run (~50 ms here), starting PostgreSQL (~65–75 ms), then each
 * message of each query (parse, bind, execute, sync). PostgreSQL's code runs for the first time
 * and its catalog caches are empty, so one message took up to 45–75 ms where later it takes well
 * under 1 ms, and a query's messages in a row up to ~130 ms (bench/embedded-setup.ts). Until
 * `stopYielding()` (the services have started), every message waits for the loop first; queries
 * keep their order, since PGlite runs each one, and each transaction, under its own lock.
 *
 * The hook before PostgreSQL starts is PGlite's own step, public in its typings (`initialSyncFs`),
 * and each message goes through `execProtocolStream`; if a version drops one, `override` stops
 * the build.
 */
export function openYieldingPglite(dataDir: string, options: Omit<PGliteOptions, 'dataDir' | 'fs'>): YieldingPGlite {
  return new YieldingPGlite({ ...options, dataDir, fs: new YieldingNodeFS(dataDir) })
}

class YieldingNodeFS extends NodeFS {
  override async initialSyncFs(): Promise<void> {
    await yieldToIo()
    return super.initialSyncFs()
  }
}

// Not a field of the class: PGlite's constructor starts the opening before a subclass's fields exist.
const stopped = new WeakSet<PGlite>()

export class YieldingPGlite extends PGlite {
  /** True until `stopYielding()`. */
  get yielding(): boolean {
    return !stopped.has(this)
  }

  /** From now on each message runs as soon as PGlite sends it. */
  stopYielding(): void {
    stopped.add(this)
  }

  override async execProtocolStream(...args: Parameters<PGlite['execProtocolStream']>): ReturnType<PGlite['execProtocolStream']> {
    if (!stopped.has(this)) await yieldToIo()
    return super.execProtocolStream(...args)
  }
}
