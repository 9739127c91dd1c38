import { runCli } from './run.js'

// `npm run db -- <command>`; `npm run db:up` is `db up`.
process.exitCode = await runCli(process.argv.slice(2))
