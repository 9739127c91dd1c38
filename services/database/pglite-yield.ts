import { PGlite } from '@electric-sql/pglite'

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
 * A PGlite that lets the event loop run between the two halves of its opening: starting
 * PostgreSQL (~130–150 ms here) and loading its array types, the first catalog query
 * (~70–130 ms). `_initArrayTypes` is PGlite's own step (public in its typings); if a version
 * drops it, `override` stops the build.
 */
export class YieldingPGlite extends PGlite {
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
