import type { Executor, SettingRow } from './repository.js'
import { allSettings, currentGeneration } from './repository.js'

/**
 * The settings rows in memory. With PostgreSQL, several instances may write: the rows are tagged
 * with the database's generation counter (bumped by every write in its transaction) and each read
 * first compares it, one single-row lookup, so a write committed through any instance is seen by
 * the next read through every other. LISTEN/NOTIFY alone cannot promise that: the notification
 * reaches each instance a little after the commit, and a read in between returns the old value.
 * PGlite is one process with one writer (this one), so there the rows stay until it writes.
 */
export class SettingsCache {
  private rows: Map<string, SettingRow> | null = null
  private generation: string | null = null
  /** Bumped by every local write, so a load that raced with one is not kept. */
  private epoch = 0

  /** False only where no other process can write (PGlite); until the database is known, assume shared. */
  private shared = true

  async read(ex: Executor): Promise<Map<string, SettingRow>> {
    const epoch = this.epoch
    if (!this.shared) {
      if (this.rows) return this.rows
      const rows = await load(ex)
      if (epoch === this.epoch) this.rows = rows
      return rows
    }
    const generation = await currentGeneration(ex)
    if (this.rows && this.generation === generation) return this.rows
    // Read after the generation: the rows are at least that new, so keeping them under it is safe.
    const rows = await load(ex)
    if (epoch === this.epoch) {
      this.rows = rows
      this.generation = generation
    }
    return rows
  }

  /** Forgets everything, e.g. when the database (and its kind) may have changed. */
  reset(shared: boolean): void {
    this.shared = shared
    this.invalidate()
  }

  invalidate(): void {
    this.epoch += 1
    this.rows = null
    this.generation = null
  }
}

async function load(ex: Executor): Promise<Map<string, SettingRow>> {
  return new Map((await allSettings(ex)).map((row) => [row.key, row]))
}
