import { parseArgs } from 'node:util'
import { ConfigError } from '../../core/config.js'
import { isServiceError, messageOf } from '../../core/errors.js'
import { persistentDataDirProblem } from '../persistent-data.js'
import { CliError, EXIT, type Command, type ExitCode } from './command.js'
import { createContext, type CliContext } from './context.js'
import { COMMANDS } from './commands/index.js'
import { commandHelp, mainHelp } from './help.js'

export interface CliIo {
  out(text: string): void
  err(text: string): void
  /** Builds the context lazily: `--help` works even when the configuration is invalid. */
  context(): CliContext
}

const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  context: () => createContext(),
}

/** `npm run db -- <command> [options]`: returns the exit code; never throws. */
export async function runCli(argv: string[], io: CliIo = processIo, commands: Command[] = COMMANDS): Promise<ExitCode> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined
    const command = topic === undefined ? undefined : commands.find((c) => c.name === topic)
    if (topic !== undefined && !command) return usageError(io, `unknown command "${topic}"`, commands)
    io.out(command ? commandHelp(command) : mainHelp(commands))
    return name === undefined ? EXIT.usage : EXIT.ok
  }
  const command = commands.find((c) => c.name === name)
  if (!command) return usageError(io, `unknown command "${name}"`, commands)

  let parsed
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    })
  } catch (error) {
    io.err(`db ${command.name}: ${messageOf(error)}\nRun "npm run db -- ${command.name} --help" to see its options.\n`)
    return EXIT.usage
  }
  if (parsed.values.help) {
    io.out(commandHelp(command))
    return EXIT.ok
  }
  const expected = command.positionals ?? []
  const missing = expected.filter((p, index) => p.required && parsed.positionals[index] === undefined)
  if (missing.length > 0 || parsed.positionals.length > expected.length) {
    const problem = missing.length > 0 ? `missing ${missing.map((p) => `<${p.name}>`).join(' ')}` : `unexpected argument "${parsed.positionals[expected.length]}"`
    io.err(`db ${command.name}: ${problem}\nRun "npm run db -- ${command.name} --help" for how to call it.\n`)
    return EXIT.usage
  }

  try {
    const context = io.context()
    const problem = await persistentDataDirProblem(context.config.persistentDataDir)
    if (problem) throw new CliError(problem)
    return await command.run(context, parsed)
  } catch (error) {
    io.err(`${failureText(command, error)}\n`)
    return error instanceof CliError ? error.exitCode : EXIT.failed
  }
}

function failureText(command: Command, error: unknown): string {
  if (error instanceof CliError || error instanceof ConfigError || isServiceError(error)) return error.message
  return `db ${command.name} failed: ${messageOf(error)}`
}

function usageError(io: CliIo, problem: string, commands: Command[]): ExitCode {
  io.err(`db: ${problem}. The commands are: ${commands.map((c) => c.name).join(', ')}.\nRun "npm run db -- --help" for what each does.\n`)
  return EXIT.usage
}
