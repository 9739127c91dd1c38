import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

const ROOT = findProjectRoot()

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as T
}

/** The `node` package's locked version: the binary npm scripts run on. */
export function pinnedNode(): { version: string; major: number } {
  const lock = readJson<{ packages: Record<string, { version?: string }> }>('package-lock.json')
  const version = lock.packages['node_modules/node']?.version
  if (!version) throw new Error('package-lock.json has no node_modules/node: the project no longer pins its Node (npm install -D node@<major>)')
  return { version, major: Number(version.split('.')[0]) }
}

/** The major of package.json's `engines.node`, which must read `>=<major>` (with an optional minor). */
export function engineMinimumMajor(): number {
  const range = readJson<{ engines?: { node?: string } }>('package.json').engines?.node ?? ''
  const match = /^>=\s*(\d+)(\.\d+){0,2}$/.exec(range)
  if (!match) throw new Error(`package.json engines.node is "${range}": expected ">=<major>"`)
  return Number(match[1])
}
