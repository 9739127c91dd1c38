import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './core/config.js'
import { listenFailure } from './core/http/listen-failure.js'
import { persistentDataDirProblem } from './database/persistent-data.js'

let config
try {
  config = loadConfig()
} catch (error) {
  if (!(error instanceof ConfigError)) throw error
  // The logger is configured from this config, so a bad config is reported on stderr directly.
  process.stderr.write(`${error.message}\nFix these environment variables and start again.\n`)
  process.exit(1)
}

const dataDirProblem = await persistentDataDirProblem(config.persistentDataDir)
if (dataDirProblem) {
  process.stderr.write(`${dataDirProblem}\n`)
  process.exit(1)
}

const app = await buildApp(config).catch((error: unknown) => {
  // Before the app exists there is no logger of ours; this is the one place that writes directly.
  process.stderr.write(`The server could not be built: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})

// SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close the database, exit 0.
closeWithGrace({ delay: 10_000 }, async ({ signal, err }) => {
  if (err) app.log.error({ err }, 'shutting down after an unexpected error')
  else app.log.info({ signal }, 'shutting down')
  await app.close()
})

try {
  await app.listen({ port: config.port, host: config.host })
} catch (error) {
  app.log.fatal({ err: error }, listenFailure(error, config.host, config.port))
  await app.close()
  process.exit(1)
}
