import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { describeOnKind, tempDir } from '../../test/helpers/app.js'
import { openCountedDatabase, type CountedDatabase, type Kind } from '../../test/helpers/counted-database.js'
import { definitionModules } from './definitions/index.js'
import { loadEncryptionKey } from './encryption-key.js'
import { buildRegistry } from './registry.js'
import { SettingsService } from './service.js'

describe.each<Kind>(['pglite', 'postgresql'])('the settings cache on %s', (kind) => {
  describeOnKind(kind)(kind, () => {
    let database: CountedDatabase
    beforeAll(async () => {
      database = await openCountedDatabase(kind)
    })
    afterAll(async () => {
      await database?.close()
    })

    async function instance() {
      const encryption = await loadEncryptionKey('cache-test-encryption-secret-0123456789', await tempDir(), pino({ level: 'silent' }))
      const service = new SettingsService(() => database.db, buildRegistry(definitionModules), { log: pino({ level: 'silent' }), encryption, databaseType: () => kind })
      await service.start(database.db)
      return service
    }

    it(kind === 'pglite' ? 'serves repeated reads from memory' : 'serves repeated reads from memory after one single-row check each', async () => {
      const a = await instance()
      await a.get('smtp.port')
      database.statements.length = 0
      for (let i = 0; i < 10; i++) await a.get('smtp.port')
      await a.list()
      if (kind === 'pglite') expect(database.statements).toEqual([])
      else {
        expect(database.statements).toHaveLength(11)
        expect(new Set(database.statements).size).toBe(1)
        expect(database.statements[0]).toMatch(/from "settings_meta"/)
      }
      await a.set('smtp.port', 2)
      expect(await a.get('smtp.port')).toBe(2)
      await a.reset('smtp.port')
    })

    if (kind === 'postgresql') {
      it('returns on every instance what was just written through another', async () => {
        const [a, b] = [await instance(), await instance()]
        for (let round = 0; round < 200; round++) {
          const [writer, reader] = round % 2 === 0 ? [a, b] : [b, a]
          await reader.get('smtp.port') // warm the reader's cache, so a stale value would show
          await writer.set('smtp.port', round + 1) // a port: 1 to 65535
          expect(await reader.get('smtp.port')).toBe(round + 1)
        }
      })
    }
  })
})
