import { lt, sql } from 'drizzle-orm'
import type { PluginContext } from '../../services/plugins/definition.js'
import { notes } from './schema.js'
import type * as tables from './schema.js'
import type { settings } from './settings.js'

/** Removes notes older than plugins.notes.retention_days; returns how many went. */
export async function pruneOldNotes(context: PluginContext<typeof tables, typeof settings.settings>): Promise<number> {
  const days = (await context.settings.get('retention_days')) ?? 0
  if (days <= 0) return 0
  const removed = await context.getDb().delete(notes).where(lt(notes.createdAt, sql`now() - make_interval(days => ${days})`)).returning({ id: notes.id })
  return removed.length
}
