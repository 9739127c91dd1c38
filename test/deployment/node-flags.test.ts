import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../../services/core/node-flags.js'
import { findProjectRoot } from '../../services/core/project-root.js'

const scripts = (JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts

describe('the server\'s Node flags', () => {
  it('are passed by npm start and npm run start:built, before the entry point', () => {
    for (const name of ['start', 'start:built']) {
      const all = scripts[name]!.split(/\s+/)
      const node = all.indexOf('node')
      expect(node, `${name} runs node`).toBeGreaterThanOrEqual(0)
      expect(Object.fromEntries(all.slice(0, node).map((word) => word.split('=') as [string, string])), `${name} sets the server's environment before node`).toEqual(SERVER_ENV)
      const words = all.slice(node)
      const entry = words.findIndex((word) => word.endsWith('services/server.ts') || word.endsWith('services/server.js'))
      for (const flag of SERVER_NODE_FLAGS) {
        expect(words.indexOf(flag), `${name} passes ${flag}`).toBeGreaterThan(0)
        expect(words.indexOf(flag), `${name} passes ${flag} to node, not to the server`).toBeLessThan(entry)
      }
    }
  })
})
