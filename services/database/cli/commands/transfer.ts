import { join } from 'node:path'
import { pgliteDataDir } from '../../connection.js'
import { readMigrations } from '../../migrator.js'
import { SELECTION_FILE } from '../../selection-file.js'
import { loadPlugins } from '../../../plugins/loader.js'
import { pluginParts } from '../../../plugins/transfer-part.js'
import { PARTS } from '../../transfer/parts.js'
import { openFreshPglite, openPgliteSource, openPostgres, switchSelection } from '../../transfer/endpoints.js'
import { begin, pgliteSession, type Session } from '../../transfer/sessions.js'
import { planTransfer, transfer, type TransferOptions, type TransferPlan } from '../../transfer/transfer.js'
import { CliError, EXIT, type Command } from '../command.js'
import type { CliContext } from '../context.js'
import { keySource } from '../key-notes.js'
import { progressPrinter } from './transfer-progress.js'

export const transferCommand: Command = {
  name: 'transfer',
  summary: 'copy every table to another kind of database, verify it, then switch to it',
  details: [
    '--to postgresql: copies the embedded database (stop the server first) into the PostgreSQL database',
    'that DATABASE_URL or POSTGRES_* name, which must be empty. The copy is one transaction, verified',
    'by row counts and checksums before it commits; then db.selection.json is switched (the old one kept',
    'as db.selection.json.bak) and the embedded folder is left untouched as a fallback.',
    '',
    '--to pglite: copies that PostgreSQL database into a new embedded one in persistent_data/pglite',
    '(which must be missing or empty; the selection is switched) or in --data-dir (the selection is not',
    'touched): a local copy of production for debugging.',
    '',
    'Examples:',
    '  POSTGRES_HOST=db POSTGRES_DATABASE=app POSTGRES_USER=app POSTGRES_PASSWORD=… npm run db -- transfer --to postgresql --dry-run',
    '  DATABASE_URL=postgres://… npm run db -- transfer --to pglite --data-dir /tmp/prod-copy',
  ].join('\n'),
  options: {
    to: { type: 'string', valueName: 'postgresql|pglite', description: 'the kind of database to copy into (required)' },
    'dry-run': { type: 'boolean', description: 'print the plan (tables, row counts, target checks) and change nothing' },
    'data-dir': { type: 'string', valueName: 'dir', description: 'with --to pglite: build the copy in this folder and leave the selection alone' },
  },
  async run(context, args) {
    const to = args.values.to
    if (to !== 'postgresql' && to !== 'pglite') {
      throw new CliError('db transfer: --to must be "postgresql" or "pglite".\nRun "npm run db -- transfer --help" for how to call it.', EXIT.usage)
    }
    if (args.values['data-dir'] !== undefined && to !== 'pglite') throw new CliError('db transfer: --data-dir goes with --to pglite only.', EXIT.usage)
    const dryRun = args.values['dry-run'] === true
    const options: TransferOptions = {
      migrations: await readMigrations(context.config.migrationsFolder),
      parts: [...PARTS, ...pluginParts(await loadPlugins(context.config))],
      delayMs: context.config.transferTestDelayMs,
      onProgress: progressPrinter(context),
    }
    return to === 'postgresql' ? toPostgres(context, options, dryRun) : toPglite(context, options, dryRun, args.values['data-dir'] as string | undefined)
  },
}

async function toPostgres(context: CliContext, options: TransferOptions, dryRun: boolean) {
  if ((await context.selectedType()) === 'postgresql') {
    throw new CliError('This installation already uses PostgreSQL. To copy it into an embedded database, use --to pglite.')
  }
  const { config } = context
  const sourceDir = pgliteDataDir(config)
  const source = await openPgliteSource(sourceDir)
  try {
    const target = await openPostgres(config)
    try {
      if (dryRun) return await printPlan(context, source, target, options)
      context.print(`copying the embedded database in ${sourceDir} to PostgreSQL at ${target.description}`)
      const result = await transfer(source, target, options)
      context.print(`copied ${result.tables} tables (${result.rows} rows); row counts and checksums match on both sides`)
    } finally {
      await target.close()
    }
  } finally {
    await source.close()
  }
  const { backup } = await switchSelection(config.persistentDataDir, 'postgresql')
  const selection = join(config.persistentDataDir, SELECTION_FILE)
  context.print(`${selection} now selects postgresql${backup ? ` (the previous one is kept as ${backup})` : ''}: the next start uses PostgreSQL`)
  if (config.dbType) context.print(`DB_TYPE=${config.dbType} is set in the environment: change it to DB_TYPE=postgresql (or remove it) as well, or the server will refuse to start`)
  context.print(`the embedded database in ${sourceDir} was left untouched, as a fallback`)
  printKeyNote(context)
  context.print(
    backup
      ? `to go back: stop the server, then "mv ${backup} ${selection}"${config.dbType ? ' and set DB_TYPE=pglite' : ''}; changes made on PostgreSQL after now are not in the embedded database`
      : `to go back: stop the server, then set DB_TYPE=pglite (or write ${selection} with "type": "pglite"); changes made on PostgreSQL after now are not in the embedded database`,
  )
  return EXIT.ok
}

async function toPglite(context: CliContext, options: TransferOptions, dryRun: boolean, dataDirOption: string | undefined) {
  const { config } = context
  const dataDir = dataDirOption === undefined ? pgliteDataDir(config) : context.resolvePath(dataDirOption)
  const source = await openPostgres(config)
  try {
    if (dryRun) {
      // A throwaway in-memory database stands for the new folder: the plan checks it like any target.
      const target = await pgliteSession('memory://')
      try {
        return await printPlan(context, source, target, options)
      } finally {
        await target.close()
      }
    }
    const fresh = await openFreshPglite(dataDir)
    try {
      context.print(`copying PostgreSQL at ${source.description} into a new embedded database in ${dataDir}`)
      const result = await transfer(source, fresh.session, options)
      await fresh.finish()
      context.print(`copied ${result.tables} tables (${result.rows} rows); row counts and checksums match on both sides`)
    } catch (error) {
      await fresh.discard()
      throw error
    }
  } finally {
    await source.close()
  }
  printKeyNote(context)
  if (dataDirOption !== undefined) {
    context.print(`the selection was not changed. To open the copy, run the server with PERSISTENT_DATA_DIR set to a folder whose pglite/ is ${dataDir}`)
    return EXIT.ok
  }
  const { backup } = await switchSelection(config.persistentDataDir, 'pglite')
  const selection = join(config.persistentDataDir, SELECTION_FILE)
  context.print(`${selection} now selects pglite${backup ? ` (the previous one is kept as ${backup}; "mv" it back to return to PostgreSQL)` : ''}`)
  if (config.dbType) context.print(`DB_TYPE=${config.dbType} is set in the environment: change it to DB_TYPE=pglite (or remove it) as well, or the server will refuse to start`)
  return EXIT.ok
}

async function printPlan(context: CliContext, source: Session, target: Session, options: TransferOptions) {
  await begin(source, 'snapshot')
  let plan: TransferPlan
  try {
    plan = await planTransfer(source, target, options)
  } finally {
    await source.query('rollback')
  }
  context.print(`dry run: nothing is changed. From ${source.kind} (${source.description}) to ${target.kind} (${target.description}):`)
  for (const table of plan.inventory.tables) context.print(`  ${`${table.schema}.${table.name}`.padEnd(32)} ${String(table.rows).padStart(10)} rows`)
  context.print(`  ${plan.inventory.sequences.length} sequence(s) set to the source's values`)
  context.print('target checks: reachable; no rows of ours; its migrations are a subset of this build\'s')
  context.print(plan.targetPending.length ? `  migrations to apply there first: ${plan.targetPending.join(', ')}` : '  migrations: all already applied there')
  if (plan.replacesTargetInstance) context.print('  its instance row (written by a server start or "db up") is replaced by the source\'s')
  return EXIT.ok
}

function printKeyNote(context: CliContext) {
  context.print(
    `encrypted settings are copied as they are: their key is not in the database. Keep using ${keySource(context.config)} with the new database`,
  )
}
