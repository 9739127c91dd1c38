import type { Command } from '../command.js'
import { backup } from './backup.js'
import { plugin } from './plugin.js'
import { restore } from './restore.js'
import { settingsKey } from './settings-key.js'
import { shell } from './shell.js'
import { status } from './status.js'
import { transferCommand } from './transfer.js'
import { up } from './up.js'
import { url } from './url.js'
import { verify } from './verify.js'

/** Every `npm run db -- <command>`, in the order --help lists them. */
export const COMMANDS: Command[] = [status, url, shell, up, verify, backup, restore, transferCommand, plugin, settingsKey]
