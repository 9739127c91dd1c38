import pino from 'pino'
import type { FastifyBaseLogger } from 'fastify'
import { loadConfig, type Config, type DatabaseType } from '../../core/config.js'
import { loggerOptions } from '../../core/logger.js'
import { readChoice } from '../choice.js'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { openConnection, pgliteDataDir, type DatabaseConnection } from '../connection.js'
import { SELECTION_FILE } from '../selection-file.js'
import { CliError } from './command.js'

/** What every command gets: the server's own config, a logger on stderr, and a place to print. */
export interface CliContext {
  config: Config
  log: FastifyBaseLogger
  /** One line for a person, on stdout. */
  print(line: string): void
  /** True when stdout is a terminal: progress bars and colours are allowed. */
  interactive: boolean
  /**
   * The folder the user ran the command from: `npm run` moves to the project's folder and keeps the
   * user's in INIT_CWD. Paths typed on the command line are resolved from here (resolvePath).
   */
  userDirectory: string
  /** A path typed on the command line, made absolute from userDirectory. */
  resolvePath(path: string): string
  /** The database this installation uses, the same way the server chooses it. */
  selectedType(): Promise<DatabaseType>
  /**
   * Opens the selected database with the server's code (PGlite: takes its lock). Close it.
   * Never creates the embedded database: a missing folder is an error saying so.
   */
  openSelected(options?: { create?: boolean }): Promise<DatabaseConnection>
}

export function createContext(env: NodeJS.ProcessEnv = process.env): CliContext {
  const config = loadConfig(env)
  const userDirectory = env.INIT_CWD || process.cwd()
  // Library code logs through pino; the CLI keeps those lines on stderr so stdout stays for results.
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel
  const log = pino(loggerOptions(level, process.stderr.isTTY === true) as pino.LoggerOptions, pino.destination(2)) as FastifyBaseLogger
  const context: CliContext = {
    config,
    log,
    print: (line) => void process.stdout.write(`${line}\n`),
    interactive: process.stdout.isTTY === true,
    userDirectory,
    resolvePath: (path) => resolve(userDirectory, path),
    async selectedType() {
      const choice = await readChoice(config)
      if (choice.kind === 'invalid') throw new CliError(choice.message)
      if (choice.kind === 'none') {
        throw new CliError(
          `No database is selected: ${config.persistentDataDir}/${SELECTION_FILE} does not exist and DB_TYPE is not set. Run the setup first (start the server and open /setup), or set DB_TYPE.`,
        )
      }
      return choice.type
    },
    async openSelected(options = {}) {
      const type = await context.selectedType()
      if (type === 'pglite' && !options.create && !(await stat(pgliteDataDir(config)).catch(() => null))) {
        throw new CliError(`The embedded database ${pgliteDataDir(config)} does not exist yet: start the server (it creates it), or run "npm run db -- up".`)
      }
      const connection = await openConnection(type, config, log)
      // No services start here and no requests wait: queries need not let the event loop in first.
      connection.started()
      return connection
    },
  }
  return context
}
