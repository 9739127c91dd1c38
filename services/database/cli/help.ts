import { EXIT, type Command } from './command.js'

const EXIT_LINES = [
  `  ${EXIT.ok}  done`,
  `  ${EXIT.failed}  failed: the message says why and what to do; nothing was left half done`,
  `  ${EXIT.usage}  wrong usage: unknown command or option, missing argument`,
  `  ${EXIT.problems}  a check found problems (verify), each one printed`,
]

export function mainHelp(commands: Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: npm run db -- <command> [options]',
    '',
    'Works on the database this installation selected (persistent_data/db.selection.json or DB_TYPE),',
    'read with the same variables as the server (DATABASE_URL, POSTGRES_*, PERSISTENT_DATA_DIR).',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "npm run db -- <command> --help" for a command\'s options.',
    '',
    'Exit codes:',
    ...EXIT_LINES,
    '',
  ].join('\n')
}

export function commandHelp(command: Command): string {
  // <name> must be given, [name] may be left out: in the usage line and in the list alike.
  const positionals = (command.positionals ?? []).map((p) => (p.required ? `<${p.name}>` : `[${p.name}]`))
  const options = Object.entries(command.options ?? {}).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : ''}--${name}${spec.type === 'string' ? ` <${spec.valueName ?? 'value'}>` : ''}`
    return { flag, description: spec.description }
  })
  options.push({ flag: '-h, --help', description: 'show this help' })
  const width = Math.max(...options.map((o) => o.flag.length), ...positionals.map((p) => p.length))
  return [
    `Usage: npm run db -- ${[command.name, ...positionals, '[options]'].join(' ')}`,
    '',
    command.summary.charAt(0).toUpperCase() + command.summary.slice(1) + '.',
    ...(command.details ? ['', command.details] : []),
    ...(command.positionals?.length ? ['', 'Arguments:', ...command.positionals.map((p, i) => `  ${positionals[i]!.padEnd(width)}  ${p.description}`)] : []),
    '',
    'Options:',
    ...options.map((o) => `  ${o.flag.padEnd(width)}  ${o.description}`),
    '',
    'Exit codes:',
    ...EXIT_LINES,
    '',
  ].join('\n')
}
