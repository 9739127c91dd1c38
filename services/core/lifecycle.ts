import type { FastifyBaseLogger } from 'fastify'
import type { Database } from '../database/connection.js'
import { Backoff } from './backoff.js'
import { messageOf } from './errors.js'

/** What a service tells the lifecycle about itself. Every part but the name is optional. */
export interface ManagedService {
  /** Unique; the name shown in GET /api/db/status under `services`. */
  name: string
  /** Services whose start must have succeeded before this one starts (and that stop after it). */
  dependencies?: string[]
  /** Runs once the database is ready: at setup, at startup, or at registration when it already is. */
  start?(db: Database): Promise<void>
  /** Runs before the database connection closes, in reverse start order. */
  stop?(): Promise<void>
  /** Problems a running service wants a person to see in the status (never secrets). */
  problems?(): string[]
}

export const SERVICE_STATES = ['registered', 'waiting', 'starting', 'running', 'failed', 'stopped'] as const
export type ServiceState = (typeof SERVICE_STATES)[number]

export interface ServiceStatus {
  name: string
  state: ServiceState
  /** True while running with no problems, or before the database is ready. */
  ok: boolean
  error: string | null
  problems: string[]
}

interface Entry {
  service: ManagedService
  state: ServiceState
  error: string | null
  backoff: Backoff
  retry: NodeJS.Timeout | null
}

/**
 * Starts services when the database becomes ready, in dependency order, retries the ones that
 * fail with the connection's backoff, and stops them in reverse order before the connection
 * closes. Starts and stops run one at a time, so a service never starts while the app stops.
 */
export class Lifecycle {
  private readonly entries: Entry[] = []
  /** ordered(), kept until the next registration: /api/db/status asks for it on every request. */
  private order: Entry[] | null = null
  private db: Database | null = null
  private stopping = false
  private queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly log: FastifyBaseLogger) {}

  register(service: ManagedService): void {
    if (this.entries.some((entry) => entry.service.name === service.name)) {
      throw new Error(`A service named "${service.name}" is registered twice: give each service its own name.`)
    }
    if (this.stopping) throw new Error(`Service "${service.name}" was registered while the app is closing.`)
    this.entries.push({ service, state: 'registered', error: null, backoff: new Backoff(), retry: null })
    this.order = null
    this.checkCycles()
    if (this.db) void this.startPending()
  }

  /**
   * The database is ready: starts every service not yet running. Resolves once each has been
   * tried, with the names of those that failed (they are retried in the background).
   */
  async databaseReady(db: Database): Promise<string[]> {
    this.db = db
    await this.startPending()
    return this.entries.filter((entry) => entry.state === 'failed' || entry.state === 'waiting').map((entry) => entry.service.name)
  }

  /** Stops every started service in reverse order; no service starts after this is called. */
  async stopAll(): Promise<void> {
    this.stopping = true
    for (const entry of this.entries) {
      if (entry.retry) clearTimeout(entry.retry)
      entry.retry = null
    }
    await this.serialize(async () => {
      for (const entry of [...this.ordered()].reverse()) {
        if (entry.state !== 'running') continue
        try {
          await entry.service.stop?.()
        } catch (error) {
          this.log.error({ err: error, service: entry.service.name }, `service ${entry.service.name} did not stop cleanly: ${messageOf(error)}`)
        }
        entry.state = 'stopped'
      }
    })
  }

  status(): ServiceStatus[] {
    return this.ordered().map(({ service, state, error }) => {
      const problems = state === 'running' ? safeProblems(service) : []
      return { name: service.name, state, ok: state !== 'failed' && state !== 'waiting' && problems.length === 0, error, problems }
    })
  }

  private startPending(): Promise<void> {
    return this.serialize(async () => {
      const db = this.db
      if (!db) return
      for (const entry of this.ordered()) {
        if (this.stopping) return
        if (entry.state === 'running' || entry.state === 'starting') continue
        const blocked = (entry.service.dependencies ?? []).filter((name) => this.find(name)?.state !== 'running')
        if (blocked.length > 0) {
          entry.state = 'waiting'
          entry.error = `waiting for ${blocked.map((name) => (this.find(name) ? name : `${name} (not registered)`)).join(', ')} to start`
          continue
        }
        await this.startOne(entry, db)
      }
    })
  }

  private async startOne(entry: Entry, db: Database): Promise<void> {
    const { name } = entry.service
    entry.state = 'starting'
    try {
      await entry.service.start?.(db)
      entry.state = 'running'
      entry.error = null
      entry.backoff.reset()
    } catch (error) {
      entry.state = 'failed'
      entry.error = messageOf(error)
      const delay = entry.backoff.next()
      this.log.error({ err: error, service: name, retryInMs: delay }, `service ${name} could not start: ${entry.error} Retrying in ${Math.round(delay / 1000)} s.`)
      entry.retry = setTimeout(() => {
        entry.retry = null
        void this.startPending()
      }, delay)
      entry.retry.unref()
    }
  }

  /** Registration order, with every service moved after its dependencies. */
  private ordered(): Entry[] {
    this.order ??= this.dependencyOrder()
    return this.order
  }

  private dependencyOrder(): Entry[] {
    const done = new Set<string>()
    const result: Entry[] = []
    const visit = (entry: Entry) => {
      if (done.has(entry.service.name)) return
      done.add(entry.service.name)
      for (const dependency of entry.service.dependencies ?? []) {
        const found = this.find(dependency)
        if (found) visit(found)
      }
      result.push(entry)
    }
    for (const entry of this.entries) visit(entry)
    return result
  }

  private checkCycles(): void {
    const visiting = new Set<string>()
    const visit = (name: string, path: string[]) => {
      if (visiting.has(name)) throw new Error(`Services depend on each other in a circle: ${[...path, name].join(' → ')}. Remove one of these dependencies.`)
      visiting.add(name)
      for (const dependency of this.find(name)?.service.dependencies ?? []) visit(dependency, [...path, name])
      visiting.delete(name)
    }
    for (const entry of this.entries) visit(entry.service.name, [])
  }

  private find(name: string): Entry | undefined {
    return this.entries.find((entry) => entry.service.name === name)
  }

  private serialize<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task)
    this.queue = run.catch(() => undefined)
    return run
  }
}

function safeProblems(service: ManagedService): string[] {
  try {
    return service.problems?.() ?? []
  } catch (error) {
    return [`could not report its state: ${messageOf(error)}`]
  }
}
