import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The folder holding package.json, found by walking up from this file, so paths such as
 * persistent_data/ and drizzle/ resolve the same from `tsx services/…`, from the compiled
 * `dist/services/…` and inside the container, whatever the working directory.
 */
export function findProjectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir
    const parent = dirname(dir)
    if (parent === dir) throw new Error(`No package.json found above ${from}: cannot locate the project root.`)
    dir = parent
  }
}
