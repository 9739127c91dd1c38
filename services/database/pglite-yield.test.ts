import { cp, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import type { PGlite } from '@electric-sql/pglite'
import { openYieldingPglite, yieldBetweenQueries, yieldToIo, type QueryYield } from './pglite-yield.js'

/**
 * Runs `then` the way a request handler runs, from the event loop's poll phase, with a byte
 * already waiting on another socket (sent just before, so the loop has not read it yet). Events
 * records 'data' when the loop reads that byte.
 */
class PollPhase {
  events: string[] = []
  private server!: Server
  private trigger!: Socket
  private sender!: Socket
  private onTrigger: () => void = () => undefined

  async open(): Promise<void> {
    this.server = createServer((socket) =>
      socket.once('data', (chunk) => {
        const handle = chunk.toString() === 't' ? () => this.onTrigger() : () => void this.events.push('data')
        socket.on('data', handle)
        if (chunk.toString() !== 's') handle()
      }),
    )
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    const port = (this.server.address() as { port: number }).port
    this.trigger = connect(port, '127.0.0.1')
    this.sender = connect(port, '127.0.0.1')
    await Promise.all([this.trigger, this.sender].map((socket) => new Promise((resolve) => socket.once('connect', resolve))))
    // Each side announces itself once, so the server knows which socket is which.
    this.sender.write('s')
    await new Promise((resolve) => setTimeout(resolve, 50))
    this.events = []
  }

  run(then: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.onTrigger = () => {
        this.sender.write('x')
        then().then(resolve, reject)
      }
      this.trigger.write('t')
    })
  }

  close(): void {
    this.trigger?.destroy()
    this.sender?.destroy()
    this.server?.close()
  }
}

/**
 * For one describe block: a PGlite opened with openYieldingPglite on a copy of the migrated
 * template (its own two hooks only, no yieldBetweenQueries), and a PollPhase; both closed after.
 */
function openedClient(): { client: PGlite; poll: PollPhase } {
  const opened = { client: undefined as unknown as PGlite, poll: new PollPhase() }
  let dir = ''
  beforeAll(async () => {
    dir = await tempDir()
    await cp(inject('pgliteTemplate'), join(dir, 'pglite'), { recursive: true })
    opened.client = openYieldingPglite(join(dir, 'pglite'), {})
    await opened.client.waitReady
    await opened.poll.open()
  })
  afterAll(async () => {
    opened.poll.close()
    await opened.client?.close()
    if (dir) await rm(dir, { recursive: true, force: true })
  })
  return opened
}

describe('the embedded database lets the event loop in between queries while it starts', () => {
  const opened = openedClient()
  const { poll } = opened
  let client: PGlite
  let yielding: QueryYield
  beforeAll(() => {
    client = opened.client
    yielding = yieldBetweenQueries(client)
  })

  async function run(): Promise<string[]> {
    poll.events = []
    await poll.run(async () => {
      await client.query('select 1')
      poll.events.push('query 1')
      await client.exec('select 2')
      poll.events.push('query 2')
      await client.transaction(async (tx) => tx.query('select 3'))
      poll.events.push('transaction')
    })
    await new Promise((resolve) => setTimeout(resolve, 20))
    return poll.events
  }

  it('reads waiting I/O before the first query of a run, not after the last', async () => {
    expect(await run()).toEqual(['data', 'query 1', 'query 2', 'transaction'])
  })

  it('runs queries straight through once stopped: the I/O waits for the whole run', async () => {
    yielding.stop()
    expect(await run()).toEqual(['query 1', 'query 2', 'transaction', 'data'])
  })

  it('keeps the order of calls that were waiting when it stopped', async () => {
    // A second wrapper on the same instance (the first one stopped above).
    const order = yieldBetweenQueries(client)
    const done: number[] = []
    const first = client.query('select 1').then(() => done.push(1))
    order.stop()
    const second = client.query('select 2').then(() => done.push(2))
    await Promise.all([first, second])
    expect(done).toEqual([1, 2])
  })
})

describe('the embedded database lets the event loop in between the pieces of its opening', () => {
  // No yieldBetweenQueries here: only openYieldingPglite's own two hooks.
  const opened = openedClient()
  const { poll } = opened
  let client: PGlite
  beforeAll(() => {
    client = opened.client
  })

  // Each piece is PGlite's own step, run again here on the opened database: what matters is
  // whether the waiting byte is read before the step's synchronous call into WASM.
  it('before PGlite loads its array types (its first catalog query, right after PostgreSQL starts)', async () => {
    poll.events = []
    const query = client.query.bind(client)
    client.query = ((...args: Parameters<PGlite['query']>) => {
      poll.events.push('query')
      return query(...args)
    }) as PGlite['query']
    try {
      await poll.run(() => client._initArrayTypes({ force: true }))
    } finally {
      client.query = query
    }
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(poll.events).toEqual(['data', 'query'])
  })

  it('before PostgreSQL starts (at the file system sync that precedes it, a no-op for a folder on disk)', async () => {
    poll.events = []
    await poll.run(() => client.fs!.initialSyncFs().then(() => void poll.events.push('synced')))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(poll.events).toEqual(['data', 'synced'])
  })
})

describe('yieldToIo', () => {
  const poll = new PollPhase()
  beforeAll(() => poll.open())
  afterAll(() => poll.close())

  it('lets a poll phase run, even when called from one: a byte waiting on a socket is read before it resolves', async () => {
    // One setImmediate would resolve in the check phase right after this poll phase, before the byte is read.
    await poll.run(() => yieldToIo().then(() => void poll.events.push('resolved')))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(poll.events).toEqual(['data', 'resolved'])
  })
})
