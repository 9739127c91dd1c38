import type { Config } from '../../services/core/config.js'
import { runCli, type CliIo } from '../../services/database/cli/run.js'
import { createContext } from '../../services/database/cli/context.js'
import { closedPort } from './network.js'

export interface CliRun {
  code: number
  out: string
  err: string
}

/**
 * `npm run db -- …` in this process, with the environment given (LOG_LEVEL silent, and PORT on a
 * closed port unless set, so no other server on this machine answers for "the running server").
 * `config` overrides what the environment cannot set, such as the plugins folder.
 */
export async function dbCli(env: Record<string, string>, argv: string[], config: Partial<Config> = {}): Promise<CliRun> {
  const out: string[] = []
  const err: string[] = []
  const fullEnv = { LOG_LEVEL: 'silent', PORT: String(await closedPort()), ...env }
  const io: CliIo = {
    out: (text) => void out.push(text),
    err: (text) => void err.push(text),
    context: () => {
      const context = createContext(fullEnv)
      // The context's methods read this very object.
      Object.assign(context.config, config)
      return { ...context, print: (line: string) => void out.push(`${line}\n`) }
    },
  }
  const code = await runCli(argv, io)
  return { code, out: out.join(''), err: err.join('') }
}
