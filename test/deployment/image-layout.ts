import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import { cp, mkdir, readdir, stat, symlink } from 'node:fs/promises'
import { basename, dirname, join, posix } from 'node:path'
import { findProjectRoot } from '../../services/core/project-root.js'
import { tempDir } from '../helpers/app.js'
import { all, copies, dockerIgnores, readDockerfile, readDockerignore, runtimeStage, type Stage } from './dockerfile.js'

export const PROJECT_ROOT = findProjectRoot()

export interface Layout {
  /** The runtime stage's WORKDIR, as a temp folder. */
  dir: string
  stage: Stage
}

/**
 * Lays out a temp folder the way the Dockerfile's runtime stage does: each COPY line, read from
 * the Dockerfile itself, copies from the build context (what .dockerignore lets through) or from
 * the build stage (whose /app is this checkout after `npm run build`); each VOLUME becomes an
 * empty folder; node_modules holds only what the stage's `npm ci --omit=…` would install. `skip` leaves out
 * the COPY lines whose sources start with it, to prove what happens without them.
 */
export async function layOutRuntimeImage(options: { skip?: string } = {}): Promise<Layout> {
  const stages = readDockerfile(PROJECT_ROOT)
  const stage = runtimeStage(stages)
  const workdir = all(stage, 'WORKDIR').at(-1)
  if (!workdir || !posix.isAbsolute(workdir)) throw new Error('The runtime stage needs an absolute WORKDIR')
  const ignore = readDockerignore(PROJECT_ROOT)
  const dir = await tempDir('groundwork-image-')
  const inImage = (path: string) => {
    const inside = posix.relative(workdir, posix.resolve(workdir, path))
    if (inside.startsWith('..')) throw new Error(`${path} is outside the WORKDIR ${workdir}: this test lays out only the WORKDIR`)
    return join(dir, inside)
  }

  for (const copy of copies(stage)) {
    if (options.skip && copy.sources.some((source) => source.replace(/^\.\//, '').startsWith(options.skip!))) continue
    const origin = copy.from === null ? null : stages.find((s) => s.name === copy.from)
    if (copy.from !== null && !origin) throw new Error(`COPY --from=${copy.from}: no stage of that name`)
    const originWorkdir = origin ? all(origin, 'WORKDIR').at(-1) : null
    for (const source of copy.sources) {
      // The build stage compiled this checkout in its WORKDIR: its files are ours, after `npm run build`.
      const contextPath = origin ? posix.relative(originWorkdir ?? '/', posix.resolve(originWorkdir ?? '/', source)) : posix.normalize(source)
      if (contextPath.startsWith('..')) throw new Error(`COPY ${source} reaches outside the build stage's WORKDIR`)
      const matched = expand(contextPath)
      if (matched.length === 0) throw new Error(`COPY ${source}: nothing matches (the image build would fail)`)
      for (const path of matched) {
        // A folder's contents go into the destination; files go into it when it is a folder.
        const intoFolder = !statSync(join(PROJECT_ROOT, path)).isDirectory() && (copy.destination.endsWith('/') || matched.length > 1 || copy.sources.length > 1)
        await copyFiltered(path, intoFolder ? join(inImage(copy.destination), basename(path)) : inImage(copy.destination), origin ? [] : ignore)
      }
    }
  }
  for (const volume of all(stage, 'VOLUME')) await mkdir(inImage(volume), { recursive: true })
  const install = all(stage, 'RUN').find((run) => /\bnpm ci\b.*--omit=dev/.test(run))
  if (!install) throw new Error('The runtime stage does not run `npm ci --omit=dev`')
  await linkProductionDependencies(inImage('node_modules'), { omitOptional: /--omit=optional\b/.test(install) })
  return { dir, stage }
}

/** `package*.json`: a wildcard in the last segment, as COPY allows. */
function expand(contextPath: string): string[] {
  const name = posix.basename(contextPath)
  const folder = posix.dirname(contextPath)
  if (!/[*?]/.test(name)) return existsSync(join(PROJECT_ROOT, contextPath)) ? [contextPath] : []
  const regex = new RegExp(`^${name.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`)
  const parent = join(PROJECT_ROOT, folder)
  return (existsSync(parent) ? readdirSync(parent) : [])
    .filter((entry) => regex.test(entry))
    .map((entry) => posix.join(folder, entry))
}

async function copyFiltered(contextPath: string, target: string, ignore: string[]): Promise<void> {
  if (dockerIgnores(ignore, contextPath)) return
  const source = join(PROJECT_ROOT, contextPath)
  if ((await stat(source)).isDirectory()) {
    await mkdir(target, { recursive: true })
    for (const entry of await readdir(source)) await copyFiltered(posix.join(contextPath, entry), join(target, entry), ignore)
    return
  }
  await mkdir(dirname(target), { recursive: true })
  await cp(source, target)
}

/**
 * Links only the packages `npm ci --omit=dev` (and `--omit=optional`, if the Dockerfile says so)
 * installs at the top level, so the built server cannot import a devDependency by accident. Their
 * own dependencies resolve from the real node_modules, as npm laid them out.
 */
async function linkProductionDependencies(target: string, options: { omitOptional: boolean }): Promise<void> {
  const lock = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; optional?: boolean }> }
  for (const [key, entry] of Object.entries(lock.packages)) {
    const name = key.slice('node_modules/'.length)
    if (!key.startsWith('node_modules/') || name.includes('node_modules/') || entry.dev) continue
    if (options.omitOptional && entry.optional) continue
    const real = join(PROJECT_ROOT, key)
    if (!existsSync(real)) continue // an optional package for another platform
    await mkdir(dirname(join(target, name)), { recursive: true })
    await symlink(real, join(target, name), 'dir')
  }
}
