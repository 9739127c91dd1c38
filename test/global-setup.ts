import type { TestProject } from 'vitest/node'
import { createPgliteTemplate } from './helpers/pglite-template.js'
import { ADMIN_URL, postgresReachable } from './helpers/postgres.js'

/**
 * Decides once whether the PostgreSQL tests can run. Without a server they are skipped with one
 * loud line, except under CI=true, where a missing server fails the run.
 */
export default async function setup(project: TestProject) {
  const reachable = await postgresReachable()
  const where = ADMIN_URL.replace(/:[^:@/]*@/, ':***@')
  if (!reachable) {
    if (process.env.CI === 'true') {
      throw new Error(`CI=true but no PostgreSQL server answers at ${where}: start it (see .ci/run) or set TEST_DATABASE_URL.`)
    }
    process.stderr.write(`\n!!! No PostgreSQL server at ${where}: the PostgreSQL tests are SKIPPED. Start one or set TEST_DATABASE_URL.\n\n`)
  }
  project.provide('postgresReachable', reachable)

  const template = await createPgliteTemplate()
  project.provide('pgliteTemplate', template.dir)
  return () => template.remove()
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresReachable: boolean
    /** A migrated PGlite data folder to copy (see helpers/pglite-template.ts). */
    pgliteTemplate: string
  }
}
