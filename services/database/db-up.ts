import pino from 'pino'
import { ConfigError, loadConfig } from '../core/config.js'
import { isServiceError, messageOf } from '../core/errors.js'
import { loggerOptions } from '../core/logger.js'
import { readChoice } from './choice.js'
import { openConnection } from './connection.js'
import { initializeDatabase } from './initialize.js'
import { readMigrations } from './migrator.js'

/**
 * `npm run db:up`: applies pending migrations to the selected database with the same code the
 * server runs at startup. Exit 0 when the database is up to date, 1 with a message otherwise.
 */
async function main(): Promise<number> {
  let config
  try {
    config = loadConfig()
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`${error.message}\n`)
    return 1
  }
  const log = pino(loggerOptions(config.logLevel === 'silent' ? 'silent' : 'info') as pino.LoggerOptions)

  const choice = await readChoice(config)
  if (choice.kind === 'invalid') {
    log.error(choice.message)
    return 1
  }
  if (choice.kind === 'none') {
    log.error(`No database is selected: ${config.persistentDataDir}/db.selection.json does not exist and DB_TYPE is not set. Run the setup first (start the server and open /setup), or set DB_TYPE.`)
    return 1
  }

  const files = await readMigrations(config.migrationsFolder)
  const connection = await openConnection(choice.type, config, log)
  try {
    log.info({ type: choice.type, database: connection.description }, `applying migrations to the ${choice.type} database`)
    const result = await initializeDatabase(connection.db, choice.type, files, (tag) => log.info({ migration: tag }, `applied ${tag}`))
    log.info(
      { applied: result.appliedNow.length, total: result.total },
      result.appliedNow.length === 0 ? `the database is up to date (${result.total} migrations applied)` : `applied ${result.appliedNow.length} migration(s); ${result.total} in all`,
    )
    if (result.unknown > 0) log.warn(`the database has ${result.unknown} migration(s) this build does not know: it was migrated by a newer version`)
    return 0
  } finally {
    await connection.close()
  }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const text = isServiceError(error) ? `${error.message}\n` : `db:up failed: ${messageOf(error)}\n`
    process.stderr.write(text)
    process.exitCode = 1
  },
)
