import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../services/core/config.js'
import { tempDir } from '../helpers/app.js'
import { composeConfig, envFileEntries, findDockerCompose, interpolatedNames, type ComposeConfig, type ComposeService } from './compose.js'
import { all, healthcheckCommand, readDockerfile, runtimeStage } from './dockerfile.js'
import { PROJECT_ROOT } from './image-layout.js'

const COMPOSE_FILE = join(PROJECT_ROOT, 'docker-compose.yml')
const ENV_EXAMPLE = join(PROJECT_ROOT, '.env.example')
const compose = findDockerCompose()

if (!compose && process.env.CI !== 'true') {
  process.stderr.write('\n!!! docker-compose is not installed: the compose file tests are SKIPPED. Install it with `apt-get install -y docker-compose`.\n\n')
}

describe('the docker-compose.yml environment', () => {
  it.skipIf(!compose && process.env.CI !== 'true')('has docker-compose to validate the compose file with (required under CI=true)', () => {
    expect(compose, 'CI=true but docker-compose is not on PATH: apt-get install -y docker-compose').not.toBeNull()
  })
})

describe.skipIf(!compose)('docker-compose.yml, as docker-compose itself reads it', () => {
  let dir: string
  const envFile = async (name: string, entries: Record<string, string>) => {
    const path = join(dir, name)
    await writeFile(path, Object.entries(entries).map(([key, value]) => `${key}=${value}\n`).join(''))
    return path
  }
  const configWith = async (name: string, entries: Record<string, string>): Promise<ComposeConfig> => {
    const result = await composeConfig(compose!, COMPOSE_FILE, await envFile(name, entries))
    if (!result.ok) throw new Error(`docker-compose config failed (exit ${result.code}):\n${result.stderr}`)
    return result.config
  }
  const service = (config: ComposeConfig, name: string): ComposeService => {
    const found = config.services[name]
    if (!found) throw new Error(`no service ${name} in ${Object.keys(config.services).join(', ')}`)
    return found
  }

  // Only the password set: what a minimal .env gives. Read once; docker-compose takes seconds to start.
  let minimal: ComposeConfig
  beforeAll(async () => {
    dir = await tempDir('groundwork-compose-')
    minimal = await configWith('minimal.env', { POSTGRES_PASSWORD: 'not-a-real-secret' })
  })

  it('accepts .env.example as it is: postgres:18-alpine and the backend built from the Dockerfile', async () => {
    const result = await composeConfig(compose!, COMPOSE_FILE, ENV_EXAMPLE)
    expect(result.ok, result.ok ? '' : result.stderr).toBe(true)
    if (!result.ok) return
    expect(Object.keys(result.config.services).sort()).toEqual(['backend', 'postgres'])
    expect(service(result.config, 'postgres').image).toBe('postgres:18-alpine')
    expect(service(result.config, 'backend').build).toEqual({ context: PROJECT_ROOT, dockerfile: 'Dockerfile' })
  })

  it('stops with its message when POSTGRES_PASSWORD is missing, rather than starting without one', async () => {
    const result = await composeConfig(compose!, COMPOSE_FILE, await envFile('no-password.env', { POSTGRES_USER: 'alice' }))
    expect(result.ok).toBe(false)
    if (result.ok) return
    expect(result.stderr).toContain('set POSTGRES_PASSWORD in .env (see .env.example)')
  })

  it('wires the .env credentials into postgres and the backend alike, and the backend to the postgres service', async () => {
    const config = await configWith('custom.env', { POSTGRES_USER: 'alice', POSTGRES_PASSWORD: 'not-a-real-secret', POSTGRES_DATABASE: 'shop' })
    const postgres = service(config, 'postgres')
    const backend = service(config, 'backend')
    expect(postgres.environment).toMatchObject({ POSTGRES_USER: 'alice', POSTGRES_PASSWORD: 'not-a-real-secret', POSTGRES_DB: 'shop' })
    expect(backend.environment).toMatchObject({
      POSTGRES_HOST: 'postgres',
      POSTGRES_USER: 'alice',
      POSTGRES_PASSWORD: 'not-a-real-secret',
      POSTGRES_DATABASE: 'shop',
    })
    expect(String(backend.environment?.POSTGRES_PORT)).toBe('5432')
    // pg_isready over TCP, for the very user and database the backend will use.
    expect(postgres.healthcheck?.test).toEqual(['CMD-SHELL', 'pg_isready -h 127.0.0.1 -U alice -d shop'])
  })

  it('starts the backend only once postgres is healthy, and restarts both unless stopped', () => {
    expect(service(minimal, 'backend').depends_on).toEqual({ postgres: { condition: 'service_healthy' } })
    expect(service(minimal, 'backend').restart).toBe('unless-stopped')
    expect(service(minimal, 'postgres').restart).toBe('unless-stopped')
  })

  it("bounds TCP's wait on a PostgreSQL that vanished to ~100 s in the backend's container (net.ipv4.tcp_retries2=8)", () => {
    const sysctls = Object.entries(service(minimal, 'backend').sysctls ?? {}).map(([name, value]) => [name, String(value)])
    expect(sysctls).toEqual([['net.ipv4.tcp_retries2', '8']])
  })

  it('gives the backend an environment the app accepts, choosing PostgreSQL so no wizard is needed', () => {
    const env = Object.fromEntries(Object.entries(service(minimal, 'backend').environment ?? {}).map(([key, value]) => [key, String(value)]))
    const app = loadConfig(env, PROJECT_ROOT)
    expect(app.dbType).toBe('postgresql')
    expect(app.postgres).toMatchObject({ host: 'postgres', port: 5432, user: 'groundwork', database: 'groundwork', password: 'not-a-real-secret', ssl: 'disable' })
    // Empty pass-through variables mean the app's defaults, not errors.
    expect(app.postgres.poolMax).toBe(loadConfig({}, PROJECT_ROOT).postgres.poolMax)
  })

  it('brings the setup wizard back when .env sets DB_TYPE empty', async () => {
    const config = await configWith('wizard.env', { POSTGRES_PASSWORD: 'not-a-real-secret', DB_TYPE: '' })
    const env = service(config, 'backend').environment ?? {}
    expect(env.DB_TYPE).toBe('')
    expect(loadConfig({ DB_TYPE: String(env.DB_TYPE) }, PROJECT_ROOT).dbType).toBeNull()
  })

  it("keeps both services' data on named volumes, mounted where each image keeps it", () => {
    expect(Object.keys(minimal.volumes).sort()).toEqual(['backend_data', 'postgres_data'])
    // postgres 18 images keep data under /var/lib/postgresql (no longer …/data).
    expect(service(minimal, 'postgres').volumes).toEqual(['postgres_data:/var/lib/postgresql:rw'])
    const dockerfileVolume = all(runtimeStage(readDockerfile(PROJECT_ROOT)), 'VOLUME')
    expect(service(minimal, 'backend').volumes).toEqual(dockerfileVolume.map((path) => `backend_data:${path}:rw`))
  })

  it("checks the backend's health with the Dockerfile's own probe (the one the image test runs), publishing on loopback by default", () => {
    const backend = service(minimal, 'backend')
    const probe = healthcheckCommand(runtimeStage(readDockerfile(PROJECT_ROOT)))
    expect(probe).not.toBeNull()
    expect(backend.healthcheck?.test).toEqual(['CMD', ...probe!])
    expect(probe!.join(' ')).toContain('/health')
    expect(backend.ports).toEqual(['127.0.0.1:3000:3000/tcp'])
  })

  it('.env.example lists exactly the variables docker-compose.yml reads, with placeholders for secrets', () => {
    const example = envFileEntries(readFileSync(ENV_EXAMPLE, 'utf8'))
    expect(Object.keys(example).sort()).toEqual(interpolatedNames(readFileSync(COMPOSE_FILE, 'utf8')))
    expect(example.POSTGRES_PASSWORD).toBe('change-me')
    expect(example.ADMIN_TOKEN).toBe('')
  })
})
