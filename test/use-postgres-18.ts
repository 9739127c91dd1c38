import { inject } from 'vitest'

// Runs before the test file imports helpers/postgres.ts, which reads TEST_DATABASE_URL once.
const url = inject('postgres18Url')
if (!url) throw new Error('The postgres-18 project has no server: test/global-setup-postgres-18.ts did not run.')
process.env.TEST_DATABASE_URL = url
