import { readdirSync } from 'node:fs'
import { join, posix, sep } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'

export interface Fetched {
  status: number
  contentType: string | undefined
  csp: string | undefined
  body: string
}

// Static imports only: `import … from '…'`, `import '…'`, `export … from '…'`, specifiers possibly on several lines.
const IMPORT = /^(?:import|export)\s+(?:[\w*${}\s,]+?\s+from\s+)?['"]([^'"]+)['"]/gm

/**
 * Every module the setup page loads, as the browser finds them: from /setup/app.js through each
 * static import, resolved against the importing file's URL. Keyed by URL path.
 */
export async function crawlPageModules(get: (path: string) => Promise<Fetched>, entry = '/setup/app.js'): Promise<Map<string, Fetched>> {
  const found = new Map<string, Fetched>()
  const queue = [entry]
  for (let path = queue.shift(); path !== undefined; path = queue.shift()) {
    if (found.has(path)) continue
    const fetched = await get(path)
    found.set(path, fetched)
    if (fetched.status !== 200) continue
    for (const [, specifier] of fetched.body.matchAll(IMPORT)) queue.push(new URL(specifier!, `http://page${path}`).pathname)
  }
  return found
}

/** The .js files in services/setup-wizard/public, as the URL paths they are served at. */
export function publicScripts(): string[] {
  const root = join(findProjectRoot(), 'services', 'setup-wizard', 'public')
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.js'))
    .map((file) => posix.join('/setup', file.split(sep).join('/')))
    .sort()
}
