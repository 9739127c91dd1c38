import { describe, expect, it } from 'vitest'
import { tempDir, TEST_ADMIN_TOKEN } from '../../../test/helpers/app.js'
import { seedPgliteSetup } from '../../../test/helpers/pglite-template.js'
import { createContext } from './context.js'

describe('the CLI context', () => {
  it('opens the embedded database with queries running straight through, not waiting for the event loop as a starting server does', async () => {
    const dir = await tempDir()
    await seedPgliteSetup(dir)
    const connection = await createContext({ PERSISTENT_DATA_DIR: dir, ADMIN_TOKEN: TEST_ADMIN_TOKEN, LOG_LEVEL: 'silent' }).openSelected()
    try {
      const order: string[] = []
      // A query that first let the event loop in would resolve after this callback.
      setImmediate(() => order.push('event loop turn'))
      await connection.pglite!.query('select 1')
      order.push('query')
      // Queued after the one above, so it runs after it: no timing to guess on a busy machine.
      await new Promise((resolve) => setImmediate(resolve))
      expect(order).toEqual(['query', 'event loop turn'])
    } finally {
      await connection.close()
    }
  })
})
