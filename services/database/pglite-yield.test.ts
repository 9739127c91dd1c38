import { cp, rm } from 'node:fs/promises'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { tempDir } from '../../test/helpers/app.js'
import type { PGlite } from '@electric-sql/pglite'
import { openYieldingPglite, yieldToIo, type YieldingPGlite } from './pglite-yield.js'

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
 * Counts turns of the event loop (check phases) until stop(): a count that moved between two calls
 * means the loop ran, and could read I/O, between them.
 */
function loopTurns(): { count(): number; stop(): void } {
  let turns = 0
  let running = true
  const tick = () => {
    turns++
    if (running) setImmediate(tick)
  }
  setImmediate(tick)
  return { count: () => turns, stop: () => void (running = false) }
}

/** Records, for each message `client` sends into WASM from now on, the loop turns counted by then. */
function recordMessages(client: PGlite, turns: { count(): number }): { turnsAt: number[]; restore(): void } {
  const turnsAt: number[] = []
  const original = client.execProtocolRawSync.bind(client)
  client.execProtocolRawSync = (message: Uint8Array) => {
    turnsAt.push(turns.count())
    return original(message)
  }
  return { turnsAt, restore: () => void delete (client as Partial<PGlite>).execProtocolRawSync }
}

/** For each message `client` sends into WASM during `run`, the loop turns counted by then. */
async function turnsAtMessages(client: PGlite, run: () => Promise<unknown>): Promise<number[]> {
  const turns = loopTurns()
  const messages = recordMessages(client, turns)
  try {
    await run()
  } finally {
    messages.restore()
    turns.stop()
  }
  return messages.turnsAt
}

/** True when the loop turned between each message and the next. */
function turnedBetweenEach(turnsAt: number[]): boolean {
  return turnsAt.every((turn, i) => i === 0 || turn > turnsAt[i - 1]!)
}

/**
 * For one describe block: a PGlite opened with openYieldingPglite on a copy of the migrated
 * template (still yielding), and a PollPhase; both closed after.
 */
function openedClient(): { client: YieldingPGlite; poll: PollPhase; dir: string } {
  const opened = { client: undefined as unknown as YieldingPGlite, poll: new PollPhase(), dir: '' }
  beforeAll(async () => {
    opened.dir = await tempDir()
    await cp(inject('pgliteTemplate'), join(opened.dir, 'pglite'), { recursive: true })
    opened.client = openYieldingPglite(join(opened.dir, 'pglite'), {})
    await opened.client.waitReady
    await opened.poll.open()
  })
  afterAll(async () => {
    opened.poll.close()
    await opened.client?.close()
    if (opened.dir) await rm(opened.dir, { recursive: true, force: true })
  })
  return opened
}

/** Runs select 1, an exec and a transaction from a poll phase, and says what happened in which order. */
async function runFromPollPhase(client: PGlite, poll: PollPhase): Promise<string[]> {
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

describe('until stopYielding(), the embedded database lets the event loop in before each message of each query', () => {
  const opened = openedClient()

  it('reads waiting I/O before the first query of a run, not after the last', async () => {
    expect(await runFromPollPhase(opened.client, opened.poll)).toEqual(['data', 'query 1', 'query 2', 'transaction'])
  })

  it('lets the loop turn between the messages of one query (parse, bind, execute, sync), in a transaction too', async () => {
    const { client } = opened
    const turnsAt = await turnsAtMessages(client, async () => {
      await client.query('select $1::int as n', [1])
      await client.transaction(async (tx) => tx.query('select 3'))
    })
    // A query with parameters alone sends more than one message.
    expect(turnsAt.length).toBeGreaterThan(3)
    expect(turnedBetweenEach(turnsAt)).toBe(true)
  })
})

describe('once stopYielding() is called', () => {
  // A client of its own, stopped by each test (stopping twice is harmless).
  const opened = openedClient()

  it('keeps the order of queries, those sent after it stopped waiting behind the one still yielding', async () => {
    const { client } = opened
    const done: number[] = []
    const first = client.query('select 1').then(() => done.push(1))
    client.stopYielding()
    const second = client.query('select 2').then(() => done.push(2))
    await Promise.all([first, second])
    expect(done).toEqual([1, 2])
  })

  it('runs queries straight through: the I/O waits for the whole run', async () => {
    const { client } = opened
    client.stopYielding()
    let events: string[] = []
    const turnsAt = await turnsAtMessages(client, async () => (events = await runFromPollPhase(client, opened.poll)))
    expect(events).toEqual(['query 1', 'query 2', 'transaction', 'data'])
    expect(turnsAt.length).toBeGreaterThan(3)
    expect(turnedBetweenEach(turnsAt)).toBe(false)
  })
})

describe('the embedded database lets the event loop in between the pieces of its opening', () => {
  const opened = openedClient()
  const { poll } = opened

  it("before each message of the catalog queries that end it, with PostgreSQL's code and caches still cold", async () => {
    const again = join(opened.dir, 'again')
    await cp(inject('pgliteTemplate'), again, { recursive: true })
    const turns = loopTurns()
    const client = openYieldingPglite(again, {})
    // Before the opening sends anything: it first loads the WASM module, asynchronously.
    const messages = recordMessages(client, turns)
    try {
      await client.waitReady
      expect(messages.turnsAt.length).toBeGreaterThan(1)
      expect(turnedBetweenEach(messages.turnsAt)).toBe(true)
    } finally {
      turns.stop()
      messages.restore()
      await client.close()
    }
  })

  it('before PostgreSQL starts (at the file system sync that precedes it, a no-op for a folder on disk)', async () => {
    poll.events = []
    await poll.run(() => opened.client.fs!.initialSyncFs().then(() => void poll.events.push('synced')))
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
