import type { ParseArgsOptionDescriptor } from 'node:util'
import type { CliContext } from './context.js'

/** The exit codes of `npm run db -- …`, documented in --help and the README. */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** It failed: the message on stderr says why and what to do. Nothing was left half done. */
  failed: 1,
  /** The command line was wrong (unknown command or option, missing argument). */
  usage: 2,
  /** A check ran and found problems (`verify`), each one printed. */
  problems: 3,
} as const

export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export interface OptionSpec extends ParseArgsOptionDescriptor {
  description: string
  /** Shown in help as `--name <value>`. */
  valueName?: string
}

export interface Command {
  name: string
  summary: string
  /** Extra lines for `db <name> --help`: what it does in detail, examples. */
  details?: string
  /** Names of positional arguments, for help (`<id>`), with whether they are required. */
  positionals?: { name: string; required: boolean; description: string }[]
  options?: Record<string, OptionSpec>
  run(context: CliContext, args: CommandArgs): Promise<ExitCode>
}

export interface CommandArgs {
  values: Record<string, string | boolean | string[] | boolean[] | undefined>
  positionals: string[]
}

/** A failure the CLI reports as one message (no stack) with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.failed,
  ) {
    super(message)
    this.name = 'CliError'
  }
}
