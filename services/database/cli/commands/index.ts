import type { Command } from '../command.js'
import { transferCommand } from './transfer.js'
import { up } from './up.js'

/** Every `npm run db -- <command>`, in the order --help lists them. */
export const COMMANDS: Command[] = [up, transferCommand]
