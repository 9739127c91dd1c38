import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, expect, it } from 'vitest'
import { postgresTestFiles } from '../helpers/postgres-files.js'

// Which test files the postgres-18 project runs (vitest.config.ts): every file that reaches
// test/helpers/postgres.ts through its relative imports, however indirectly, and no other.

const root = await mkdtemp(join(tmpdir(), 'groundwork-postgres-files-'))
afterAll(() => rm(root, { recursive: true, force: true }))

async function files(tree: Record<string, string>) {
  for (const [path, source] of Object.entries(tree)) {
    await mkdir(dirname(join(root, path)), { recursive: true })
    await writeFile(join(root, path), source)
  }
}

it('selects the test files that import the PostgreSQL helper, directly, through helpers or through an import cycle', async () => {
  await files({
    'test/helpers/postgres.ts': "import pg from 'pg'\n",
    'test/helpers/apps.ts': "import { createTestDatabase } from './postgres.js'\n",
    'test/helpers/a.ts': "import { b } from './b.js'\n",
    'test/helpers/b.ts': "import { a } from './a.js'\nexport {\n  x,\n} from './apps.js'\n",
    'test/helpers/pglite.ts': "import { PGlite } from '@electric-sql/pglite'\n",
    'services/direct.test.ts': "import { createTestDatabase } from '../test/helpers/postgres.js'\n",
    'services/nested/deep/through-helper.test.ts': "import {\n  appForTest,\n} from '../../../test/helpers/apps.js'\n",
    'services/cycle.test.ts': "import { a } from '../test/helpers/a.js'\n",
    'services/lazy.test.ts': "const { ADMIN_URL } = await import('../test/helpers/postgres.js')\n",
    'services/pglite-only.test.ts': "import { PGlite } from '../test/helpers/pglite.js'\nimport { x } from './missing.js'\n",
    'test/unrelated.test.ts': "import { describe } from 'vitest'\n// '../test/helpers/postgres.js' in a comment is not an import\n",
  })
  expect(postgresTestFiles(root, ['services/**/*.test.ts', 'test/**/*.test.ts'])).toEqual([
    'services/cycle.test.ts',
    'services/direct.test.ts',
    'services/lazy.test.ts',
    'services/nested/deep/through-helper.test.ts',
  ])
})
