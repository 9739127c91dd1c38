import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { appendFile, chmod, chown, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'
import { closedPort } from './network.js'

const exec = promisify(execFile)
const PG_ROOT = '/usr/lib/postgresql'

/** The newest installed PostgreSQL's bin folder (Debian's layout), or null. */
function binFolder(): string | null {
  const versions = existsSync(PG_ROOT) ? readdirSync(PG_ROOT).filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  return newest ? join(PG_ROOT, newest, 'bin') : null
}

export interface PrivateCluster {
  port: number
  /** The superuser, logging in with `password` (scram-sha-256, over TLS or not). */
  user: string
  password: string
  /** The CA that signed the server's certificate (issued for the host name "localhost" only). */
  caFile: string
  /** Another throwaway CA, which signed nothing the server presents. */
  wrongCaFile: string
  /** Milliseconds from nothing to a server that accepts logins. */
  startedInMs: number
  /** A fresh database; it goes away with the cluster. */
  createDatabase(): Promise<string>
  query(text: string): Promise<pg.QueryResultRow[]>
  /** A streaming replica of this cluster (pg_basebackup -R), on a port of its own; stopped with the cluster. */
  startReplica(): Promise<PrivateReplica>
  stop(): Promise<void>
}

/** A hot standby: read-only, following the primary through streaming replication. */
export interface PrivateReplica {
  port: number
  /** Its own query on `database`, as the superuser. */
  query(text: string, database?: string): Promise<pg.QueryResultRow[]>
  /** Stops it as a crash would (-m immediate); start() brings it back, catching up from the primary. */
  stop(): Promise<void>
  start(): Promise<void>
}

/**
 * A PostgreSQL cluster of our own, unlike the machine's trust-auth server: password
 * authentication (scram-sha-256) and TLS with a certificate from a throwaway CA. It listens on
 * 127.0.0.1 only, on a free port, and is removed by stop(). initdb refuses root, so the server
 * runs as the postgres OS user. It accepts replication logins, for startReplica().
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const BIN = binFolder()
  if (!BIN) throw new Error(`No initdb under ${PG_ROOT}/*/bin: install the PostgreSQL server package (apt-get install -y postgresql) to run the password and TLS tests.`)
  const started = Date.now()
  const dir = await mkdtemp(join(tmpdir(), 'groundwork-cluster-'))
  const data = join(dir, 'data')
  const asPostgres = (command: string, args: string[]) => exec('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args], { cwd: dir })
  let running = false
  const replicaStops: (() => Promise<void>)[] = []
  const stop = async () => {
    // A standby left running would keep files in dir and retry its primary forever.
    await Promise.all(replicaStops.map((stopReplica) => stopReplica()))
    if (running) await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined)
    running = false
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const password = randomBytes(12).toString('hex')
    const { uid, gid } = await postgresIds()
    await chown(dir, uid, gid)
    const tls = await makeCertificates(dir)
    await chown(tls.serverKey, uid, gid)
    await chmod(tls.serverKey, 0o600)
    await chown(tls.serverCert, uid, gid)
    await writeFile(join(dir, 'pwfile'), `${password}\n`)
    await chown(join(dir, 'pwfile'), uid, gid)

    await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${join(dir, 'pwfile')}`, '--no-sync', '--no-instructions', '-E', 'UTF8'])
    await writeFile(
      join(data, 'pg_hba.conf'),
      ['local all all scram-sha-256', 'hostssl all all 127.0.0.1/32 scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', 'host replication all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
    )
    const port = await closedPort()
    const settings = {
      port: String(port),
      listen_addresses: "'127.0.0.1'",
      unix_socket_directories: `'${dir}'`,
      ssl: 'on',
      ssl_cert_file: `'${tls.serverCert}'`,
      ssl_key_file: `'${tls.serverKey}'`,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      shared_buffers: "'16MB'",
      max_connections: '30',
      // The defaults since PostgreSQL 10, spelled out because startReplica() depends on them.
      wal_level: 'replica',
      max_wal_senders: '5',
    }
    await writeFile(join(data, 'postgresql.auto.conf'), Object.entries(settings).map(([key, value]) => `${key} = ${value}\n`).join(''))
    await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '30', 'start'])
    running = true

    const queryOn = async (serverPort: number, text: string, database = 'postgres') => {
      const client = new pg.Client({ host: '127.0.0.1', port: serverPort, user: 'postgres', password, database })
      await client.connect()
      try {
        return (await client.query(text)).rows
      } finally {
        await client.end()
      }
    }
    const query = (text: string) => queryOn(port, text)
    let replicas = 0
    const startReplica = async (): Promise<PrivateReplica> => {
      const replicaData = join(dir, `replica-${++replicas}`)
      const replicaPort = await closedPort()
      // -R writes standby.signal and primary_conninfo (with this password) into the copy; a spread
      // checkpoint (the default) would make it wait minutes on an idle cluster.
      const conninfo = `host=127.0.0.1 port=${port} user=postgres password=${password}`
      await asPostgres('pg_basebackup', ['-d', conninfo, '-D', replicaData, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync'])
      // The copy has the primary's settings: the last line wins, so it listens on a port of its own.
      await appendFile(join(replicaData, 'postgresql.auto.conf'), `port = ${replicaPort}\n`)
      let replicaRunning = false
      const logFile = join(dir, `replica-${replicas}.log`)
      const replica: PrivateReplica = {
        port: replicaPort,
        query: (text, database) => queryOn(replicaPort, text, database),
        async start() {
          try {
            await asPostgres('pg_ctl', ['-D', replicaData, '-l', logFile, '-w', '-t', '30', 'start'])
          } catch (error) {
            const log = await readFile(logFile, 'utf8').catch(() => '')
            throw new Error(`Could not start the replica in ${replicaData}: ${(error as Error).message}\n${log}`)
          }
          replicaRunning = true
        },
        async stop() {
          if (replicaRunning) await asPostgres('pg_ctl', ['-D', replicaData, '-m', 'immediate', '-w', 'stop'])
          replicaRunning = false
        },
      }
      replicaStops.push(() => replica.stop().catch(() => undefined))
      await replica.start()
      return replica
    }
    return {
      port,
      user: 'postgres',
      password,
      caFile: tls.caCert,
      wrongCaFile: tls.wrongCaCert,
      startedInMs: Date.now() - started,
      async createDatabase() {
        const name = `test_${randomBytes(8).toString('hex')}`
        await query(`create database "${name}"`)
        return name
      },
      query,
      startReplica,
      stop,
    }
  } catch (error) {
    const log = await exec('cat', [join(dir, 'server.log')]).then((r) => r.stdout, () => '')
    await stop()
    const { stderr } = error as { stderr?: string }
    throw new Error(`Could not start a private PostgreSQL cluster: ${(error as Error).message}\n${stderr ?? ''}${log}`)
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([exec('id', ['-u', 'postgres']), exec('id', ['-g', 'postgres'])])
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

/** Two throwaway CAs and a server certificate, signed by the first, for the host name "localhost" only. */
async function makeCertificates(dir: string) {
  const path = (name: string) => join(dir, name)
  const openssl = (args: string[]) => exec('openssl', args, { cwd: dir })
  const ca = async (name: string) => {
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path(`${name}.key`), '-out', path(`${name}.crt`), '-days', '2', '-subj', `/CN=groundwork test ${name}`])
    return path(`${name}.crt`)
  }
  const [caCert, wrongCaCert] = await Promise.all([ca('ca'), ca('wrong-ca')])
  await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=localhost'])
  await writeFile(path('server.ext'), 'subjectAltName = DNS:localhost\n')
  await openssl(['x509', '-req', '-in', path('server.csr'), '-CA', caCert, '-CAkey', path('ca.key'), '-CAcreateserial', '-out', path('server.crt'), '-days', '2', '-extfile', path('server.ext')])
  return { caCert, wrongCaCert, serverCert: path('server.crt'), serverKey: path('server.key') }
}
