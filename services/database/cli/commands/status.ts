import { EXIT, type Command } from '../command.js'
import { formatStatus, statusReport } from '../status-report.js'

export const status: Command = {
  name: 'status',
  summary: 'show the selected database, its migrations, last error, size and row counts',
  details: [
    'Asks the running server (GET /api/db/status at HOST:PORT) when one answers. The size and row',
    'counts are read from the database, except while the server holds the embedded one: then they',
    'are reported as unavailable. A server at HOST:PORT that cannot be this installation\'s (it uses the',
    'other kind of database, or holds an embedded one while this installation\'s lock is free) is named',
    'as another\'s and its answer left out. Exits 1 only when neither the server nor the database could answer.',
  ].join('\n'),
  options: { json: { type: 'boolean', description: 'print one JSON object, for scripts' } },
  async run(context, args) {
    const report = await statusReport(context)
    if (args.values.json) context.print(JSON.stringify(report, null, 2))
    else formatStatus(report).forEach((line) => context.print(line))
    const nobodyAnswered = !report.server.running && report.counts_from === 'unavailable' && report.last_error !== null
    return nobodyAnswered ? EXIT.failed : EXIT.ok
  },
}
