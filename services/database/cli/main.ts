import { enableInterruptCleanup } from '../../core/interrupt-cleanup.js'
import { runCli } from './run.js'

// `npm run db -- <command>`; `npm run db:up` is `db up`. Ctrl-C removes what a command had half written.
enableInterruptCleanup()
process.exitCode = await runCli(process.argv.slice(2))
