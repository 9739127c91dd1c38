import { globSync, readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'

const RELATIVE_IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g

/**
 * The test files that reach the PostgreSQL test server: those importing test/helpers/postgres.ts,
 * directly or through other modules (followed through relative imports). These run on
 * PostgreSQL 18 as well. Found from the imports rather than a list, so a new test cannot miss it.
 * Within them, the tests marked describeNoPostgres / itNoPostgres are skipped there
 * (test/helpers/no-postgres.ts).
 */
export function postgresTestFiles(root: string, include: string[]): string[] {
  const target = resolve(root, 'test/helpers/postgres.ts')
  const importsOf = new Map<string, string[]>()
  const imports = (file: string): string[] => {
    let found = importsOf.get(file)
    if (!found) {
      let source = ''
      try {
        source = readFileSync(file, 'utf8')
      } catch {
        // not a TypeScript file of ours: it imports nothing we follow
      }
      found = [...source.matchAll(RELATIVE_IMPORT)].map((match) => resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')))
      importsOf.set(file, found)
    }
    return found
  }
  const reaches = (start: string): boolean => {
    const seen = new Set<string>()
    const pending = [start]
    for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
      if (file === target) return true
      if (seen.has(file)) continue
      seen.add(file)
      pending.push(...imports(file))
    }
    return false
  }
  return globSync(include, { cwd: root })
    .filter((file) => reaches(resolve(root, file)))
    .sort()
}
