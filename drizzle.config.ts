import { loadConfig } from './services/core/config.js'
import { drizzleKitConfig } from './services/database/drizzle-kit-config.js'
import { pgliteLockHolderSync, takePgliteLockForProcess } from './services/database/pglite-lock.js'

// The selected database, read as the server reads it (see README, "drizzle-kit"). drizzle-kit
// require()s this file and runs from the project folder, so the root is the working directory.
const config = loadConfig(process.env, process.cwd())
const lockPath = `${config.persistentDataDir}/pglite.lock`

export default drizzleKitConfig({
  config,
  command: process.argv.slice(2).find((arg) => !arg.startsWith('-')) ?? null,
  pgliteLock: { holder: pgliteLockHolderSync(lockPath)?.who ?? null, take: () => takePgliteLockForProcess(lockPath) },
})
