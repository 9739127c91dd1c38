/**
 * Which tests the postgres-18 project runs. It runs the files that reach the PostgreSQL test server
 * (test/helpers/postgres-files.ts), and many of those also hold tests that never reach it (the
 * embedded database, a fake or unreachable server, the CLI's argument checks): these would run
 * there exactly as in the default project. describeNoPostgres and itNoPostgres (test/helpers/app.ts)
 * mark them, and the postgres-18 project skips them. While a marked test runs, the test server's
 * helpers (test/helpers/postgres.ts) refuse to work, so a test marked by mistake fails in the
 * default project instead of going untested on PostgreSQL 18.
 *
 * No vitest import here: test/global-setup.ts reaches this module through postgres.ts.
 */
let depth = 0

export function enterNoPostgres(): void {
  depth++
}

export function leaveNoPostgres(): void {
  depth--
}

/** Throws when called from a test marked as not reaching the PostgreSQL test server. */
export function refuseInNoPostgres(what: string): void {
  if (depth === 0) return
  throw new Error(
    `A test marked describeNoPostgres or itNoPostgres reached the PostgreSQL test server (${what}). ` +
      'Use describe/it, describePostgres or describeOnKind (test/helpers/app.ts): the postgres-18 project skips the marked tests.',
  )
}
