import { is } from 'drizzle-orm'
import { PgTable, getTableConfig } from 'drizzle-orm/pg-core'
import * as schema from '../schema.js'

/** "schema.table" for every table the migrations create; tables without a schema land in `defaultSchema`. */
export function ourTableNames(defaultSchema: string): Set<string> {
  const names = new Set<string>()
  for (const value of Object.values(schema)) {
    if (!is(value, PgTable)) continue
    const config = getTableConfig(value)
    names.add(`${config.schema ?? defaultSchema}.${config.name}`)
  }
  return names
}
