import { readFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Instruction {
  keyword: string
  /** Everything after the keyword, continuation lines joined. */
  args: string
}

export interface Stage {
  image: string
  name: string | null
  instructions: Instruction[]
}

/** The Dockerfile's stages, in order: enough of the syntax for this project's Dockerfile, and loud about the rest. */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = []
  let pending = ''
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd()
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue
    if (line.trimStart().startsWith('#')) continue // a comment inside a continued instruction
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `
      continue
    }
    logical.push((pending + line.trim()).trim())
    pending = ''
  }
  if (pending) logical.push(pending.trim())

  const stages: Stage[] = []
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/s.exec(line)
    if (!match) continue
    const keyword = match[1]!.toUpperCase()
    const args = match[2]!.trim()
    if (keyword === 'FROM') {
      const from = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      if (!from) throw new Error(`Cannot read FROM ${args}`)
      stages.push({ image: from[1]!, name: from[2] ?? null, instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (!stage) {
      if (keyword === 'ARG') continue
      throw new Error(`${keyword} before the first FROM`)
    }
    stage.instructions.push({ keyword, args })
  }
  return stages
}

export function readDockerfile(root: string): Stage[] {
  return parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8'))
}

export function runtimeStage(stages: Stage[]): Stage {
  const last = stages.at(-1)
  if (!last) throw new Error('The Dockerfile has no FROM')
  return last
}

export function all(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args)
}

export interface Copy {
  /** The stage it copies from, or null for the build context. */
  from: string | null
  sources: string[]
  destination: string
}

export function copies(stage: Stage): Copy[] {
  return all(stage, 'COPY').map((args) => {
    if (args.startsWith('[')) throw new Error(`COPY in JSON form is not understood by this test: COPY ${args}`)
    const words = args.split(/\s+/)
    let from: string | null = null
    while (words[0]?.startsWith('--')) {
      const flag = words.shift()!
      if (flag.startsWith('--from=')) from = flag.slice('--from='.length)
    }
    const destination = words.pop()
    if (!destination || words.length === 0) throw new Error(`COPY needs a source and a destination: COPY ${args}`)
    return { from, sources: words, destination }
  })
}

/** ENV in both forms: `ENV A=1 B=2` and the legacy `ENV A 1`. Quoted values are not supported. */
export function env(stage: Stage): Record<string, string> {
  const result: Record<string, string> = {}
  for (const args of all(stage, 'ENV')) {
    if (!args.includes('=')) {
      const [name, ...value] = args.split(/\s+/)
      result[name!] = value.join(' ')
      continue
    }
    for (const pair of args.split(/\s+/)) {
      const [name, ...value] = pair.split('=')
      result[name!] = value.join('=')
    }
  }
  return result
}

/** A JSON-form (exec) argument list, or null when the instruction uses the shell form. */
export function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null
  const parsed: unknown = JSON.parse(args)
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) return null
  return parsed
}

/** The HEALTHCHECK's command in exec form (its --options dropped), or null (none, NONE or shell form). */
export function healthcheckCommand(stage: Stage): string[] | null {
  const args = all(stage, 'HEALTHCHECK').at(-1)
  const cmd = args ? /^(?:--\S+\s+)*CMD\s+(.*)$/s.exec(args) : null
  return cmd ? execForm(cmd[1]!) : null
}

/**
 * Whether .dockerignore keeps `path` (relative to the context, forward slashes) out of the build
 * context. Patterns as Docker reads them: `*`, `?`, `**`, a leading `!` re-includes, the last
 * matching pattern wins, and a pattern that matches a folder excludes what is inside it.
 */
export function dockerIgnores(patterns: string[], path: string): boolean {
  const parts = path.split('/')
  let ignored = false
  for (const raw of patterns) {
    const negate = raw.startsWith('!')
    const pattern = (negate ? raw.slice(1) : raw).trim().replace(/^\/+|\/+$/g, '')
    if (!pattern) continue
    const regex = new RegExp(
      `^${pattern
        .split('**')
        .map((piece) => piece.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))
        .join('.*')}$`,
    )
    const matches = parts.some((_, i) => regex.test(parts.slice(0, i + 1).join('/')))
    if (matches) ignored = !negate
  }
  return ignored
}

export function readDockerignore(root: string): string[] {
  return readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
}
