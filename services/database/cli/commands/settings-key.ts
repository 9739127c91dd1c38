import { join } from 'node:path'
import { createInterface } from 'node:readline/promises'
import { ENCRYPTION_KEY_FILE, loadEncryptionKey } from '../../../settings/encryption-key.js'
import { resetRecordedKey } from '../../../settings/key-reset.js'
import { secretsHeld } from '../../../settings/secrets-held.js'
import { drizzleQuery } from '../../table-stats.js'
import { CliError, EXIT, type Command } from '../command.js'
import { compareKey, keySource, strandedValues } from '../key-notes.js'

export const settingsKey: Command = {
  name: 'settings-key',
  summary: "reset: when the settings encryption key is lost for good, record this installation's key instead (after a confirmation)",
  details: [
    'The database records which key its encrypted settings are written with; a server with another key',
    'refuses to read or write any of them (encryption_key_mismatch). When that key is lost for good',
    '(no backup of persistent_data/encryption.key, a forgotten ENCRYPTION_SECRET), this records the key',
    'this installation has (ENCRYPTION_SECRET, or persistent_data/encryption.key, generated if missing)',
    'so encrypted settings can be set again. The values written with the lost key are kept as they are:',
    'unreadable until set again, readable again if that key turns up. It asks for the lost key id;',
    '--confirm <key id> answers without a prompt (scripts). Embedded database: stop the server first;',
    'PostgreSQL: running instances with this key take it up at their next use of an encrypted setting.',
    'Example: npm run db -- settings-key reset --confirm 854d2e8512784e63',
  ].join('\n'),
  positionals: [{ name: 'action', required: true, description: 'reset (the only action)' }],
  options: { confirm: { type: 'string', valueName: 'key id', description: 'the id of the key given up, to confirm without a prompt' } },
  async run(context, args) {
    const [action] = args.positionals as [string]
    if (action !== 'reset') throw new CliError(`db settings-key: unknown action "${action}"; the only one is "reset": npm run db -- settings-key reset`, EXIT.usage)
    const { config, log } = context
    const connection = await context.openSelected()
    try {
      const { recorded, values } = await secretsHeld(drizzleQuery(connection.db))
      if (!recorded) {
        context.print('the database records no settings key yet (the settings service has not started on it): nothing to reset; the server records its key at its next start')
        return EXIT.ok
      }
      const comparison = await compareKey(config, recorded, log)
      if (comparison.kind === 'matches') {
        context.print(`the database records this installation's key (id ${recorded.kid}, from ${keySource(config)}): nothing to reset`)
        return EXIT.ok
      }
      if (comparison.kind === 'unusable') throw new CliError(`${comparison.message} Nothing was changed.`)
      const file = join(config.persistentDataDir, ENCRYPTION_KEY_FILE)
      const replacement = comparison.kind === 'differs' ? `this installation's key (id ${comparison.key.kid}, from ${keySource(config)})` : `a new key (generated into ${file})`
      const kept = 'unreadable until set again (readable again if that key turns up)'
      const stranded =
        values === 0
          ? 'It holds no encrypted value.'
          : values === 1
            ? `The one encrypted value it holds stays as it is, ${kept}.`
            : `The ${values} encrypted values it holds stay as they are, ${kept}.`
      const what = `The database's encrypted settings were written with key id ${recorded.kid}. This makes it record ${replacement} instead. ${stranded}`
      const confirm = await confirmation(args.values.confirm as string | undefined, what, recorded.kid)
      if (confirm !== recorded.kid) throw new CliError(`"${confirm}" is not the key id the database records (${recorded.kid}): nothing was changed.`, EXIT.usage)
      const key = comparison.kind === 'differs' ? comparison.key : await loadEncryptionKey(config.encryptionSecret, config.persistentDataDir, log)
      let reset
      try {
        reset = await resetRecordedKey(connection.db, key, recorded.kid)
      } catch (error) {
        throw new CliError(`Could not reset the settings key: ${(error as Error).message}`)
      }
      context.print(`the database now records the settings key id ${key.kid} (${keySource(config)}) in place of ${reset.previous.kid}: encrypted settings can be set again`)
      if (reset.stranded > 0) {
        context.print(strandedValues(reset.stranded, 'this one'))
      }
      if (key.source === 'file') context.print(`back up ${file} apart from the database's backups: it is the only copy of this key`)
      if (connection.type === 'postgresql') {
        context.print('running server instances with this key take it up at their next use of an encrypted setting: no restart is needed')
        if (key.source === 'file') context.print('warning: ENCRYPTION_SECRET is not set: other instances on this database have keys of their own and will refuse encrypted settings; give every instance the same ENCRYPTION_SECRET, then run this again')
      }
      return EXIT.ok
    } finally {
      await connection.close()
    }
  },
}

async function confirmation(given: string | undefined, what: string, kid: string): Promise<string> {
  if (given !== undefined) return given
  if (!process.stdin.isTTY) throw new CliError(`${what} Repeat that key id to confirm: npm run db -- settings-key reset --confirm ${kid}`, EXIT.usage)
  const prompt = createInterface({ input: process.stdin, output: process.stdout })
  try {
    return (await prompt.question(`${what}\nType the key id given up, "${kid}", to confirm: `)).trim()
  } finally {
    prompt.close()
  }
}
