import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { engineMinimumMajor, pinnedNode } from './node-runtime.js'

// The machines' system Node may be older than the project's: npm scripts run the pinned one
// (node_modules/.bin is first on their PATH). These fail when the tests are started any other way.

describe('the Node runtime', () => {
  it('is the version package-lock.json pins, not the system Node', () => {
    expect(process.versions.node).toBe(pinnedNode().version)
  })

  it('satisfies package.json engines', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(engineMinimumMajor())
  })

  it('is what a bare `node` resolves to in a child process, so spawned scripts run on it too', async () => {
    const { stdout } = await promisify(execFile)('node', ['-p', 'process.version'])
    expect(stdout.trim()).toBe(process.version)
  })
})
