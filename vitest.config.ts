import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['services/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    setupFiles: ['test/setup-file.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each fresh PGlite costs ~2 s and ~860 MB: two workers keep a 2-core machine busy without thrashing.
    maxWorkers: 2,
  },
})
