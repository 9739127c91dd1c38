import type { FastifyBaseLogger } from 'fastify'
import pg from 'pg'
import { Backoff } from '../core/backoff.js'
import { messageOf } from '../core/errors.js'

export type NotificationHandler = (payload: string | null) => void

/**
 * LISTEN on PostgreSQL needs a connection of its own that stays open: one client outside the pool
 * serves every channel. When it drops, it reconnects with backoff, listens again, and tells every
 * handler `null` ("you may have missed notifications").
 */
export class PgListener {
  private client: pg.Client | null = null
  private connecting: Promise<pg.Client> | null = null
  private readonly handlers = new Map<string, Set<NotificationHandler>>()
  private readonly backoff = new Backoff()
  private retry: NodeJS.Timeout | null = null
  private closed = false

  constructor(
    private readonly clientConfig: pg.ClientConfig,
    private readonly log: FastifyBaseLogger,
  ) {}

  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    const first = !this.handlers.has(channel)
    const set = this.handlers.get(channel) ?? new Set()
    set.add(handler)
    this.handlers.set(channel, set)
    if (first) {
      const client = await this.connected()
      await client.query(`LISTEN ${quoteChannel(channel)}`)
    }
    return async () => {
      set.delete(handler)
      if (set.size > 0 || this.handlers.get(channel) !== set) return
      this.handlers.delete(channel)
      await this.client?.query(`UNLISTEN ${quoteChannel(channel)}`).catch(() => undefined)
    }
  }

  async close(): Promise<void> {
    this.closed = true
    if (this.retry) clearTimeout(this.retry)
    const client = this.client ?? (await this.connecting?.catch(() => null))
    this.client = null
    await client?.end().catch(() => undefined)
  }

  private connected(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client)
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  private async connect(): Promise<pg.Client> {
    if (this.closed) throw new Error('The database connection is closed.')
    const client = new pg.Client(this.clientConfig)
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '')
    })
    client.on('error', (error) => this.lost(client, error))
    client.on('end', () => this.lost(client, null))
    try {
      await client.connect()
    } catch (error) {
      client.removeAllListeners('end')
      await client.end().catch(() => undefined)
      throw error
    }
    this.client = client
    return client
  }

  private lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return
    this.client = null
    if (this.closed) return
    this.log.warn(`the connection listening for notifications dropped${error ? ` (${messageOf(error)})` : ''}; reconnecting`)
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    const delay = this.backoff.next()
    this.retry = setTimeout(() => {
      this.retry = null
      void this.reconnect()
    }, delay)
    this.retry.unref()
  }

  private async reconnect(): Promise<void> {
    if (this.closed || this.handlers.size === 0) return
    try {
      const client = await this.connected()
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteChannel(channel)}`)
      this.backoff.reset()
      for (const set of this.handlers.values()) for (const handler of set) handler(null)
    } catch (error) {
      if (this.closed) return
      this.log.warn({ err: error }, `could not listen for notifications again (${messageOf(error)}); retrying`)
      this.client?.removeAllListeners('end')
      await this.client?.end().catch(() => undefined)
      this.client = null
      this.scheduleReconnect()
    }
  }
}

/** Channel names are identifiers; only plain ones are accepted, so quoting cannot be got wrong. */
export function quoteChannel(channel: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) {
    throw new TypeError(`Notification channel "${channel}" must be 1–63 characters of a-z, 0-9 and _, starting with a letter or _.`)
  }
  return `"${channel}"`
}
