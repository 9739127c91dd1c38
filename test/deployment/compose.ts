import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** docker-compose (v1, Debian's package) on PATH, or null. */
export function findDockerCompose(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const path = join(dir, 'docker-compose')
    if (dir && existsSync(path)) return path
  }
  return null
}

export interface ComposeService {
  image?: string
  build?: { context: string; dockerfile: string }
  environment?: Record<string, string | number>
  depends_on?: Record<string, { condition: string }>
  healthcheck?: { test: string[]; interval?: string; timeout?: string; retries?: number; start_period?: string }
  volumes?: string[]
  ports?: string[]
  restart?: string
  sysctls?: Record<string, string | number>
}

export interface ComposeConfig {
  services: Record<string, ComposeService>
  volumes: Record<string, unknown>
}

export type ComposeResult = { ok: true; config: ComposeConfig } | { ok: false; code: number; stderr: string }

/**
 * `docker-compose config` on `file` with `envFile` as its .env, in an environment holding only
 * PATH and HOME so no variable of the test run leaks into the interpolation. v1 prints YAML
 * only; it is read back with the PyYAML that docker-compose itself depends on (through the
 * interpreter named on docker-compose's #! line), so the test needs no YAML parser of its own.
 */
export async function composeConfig(compose: string, file: string, envFile: string): Promise<ComposeResult> {
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' }
  let yaml: string
  try {
    yaml = (await exec(compose, ['-f', file, '--env-file', envFile, 'config'], { env })).stdout
  } catch (error) {
    const failure = error as { code?: number; stderr?: string }
    return { ok: false, code: typeof failure.code === 'number' ? failure.code : -1, stderr: failure.stderr ?? '' }
  }
  const child = execFile(pythonOf(compose), ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], { env })
  child.stdin!.end(yaml)
  const json = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.on('error', reject)
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`could not read docker-compose's YAML back (exit ${code})`))))
  })
  return { ok: true, config: JSON.parse(json) as ComposeConfig }
}

function pythonOf(compose: string): string {
  const first = readFileSync(compose, 'utf8').split('\n', 1)[0] ?? ''
  return first.startsWith('#!') && first.includes('python') ? first.slice(2).trim().split(/\s+/)[0]! : 'python3'
}

/** The names a compose file interpolates: ${NAME}, ${NAME:-default}, ${NAME:?message}…, not the escaped $${NAME}. */
export function interpolatedNames(text: string): string[] {
  return [...new Set([...text.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1]!))].sort()
}

/** The NAME=value lines of an env file. */
export function envFileEntries(text: string): Record<string, string> {
  const entries: Record<string, string> = {}
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim())
    if (match) entries[match[1]!] = match[2]!
  }
  return entries
}
