// The PostgreSQL baseline: bare routes on a raw `pg` Pool of our size, each query a named prepared statement.
import pg from 'pg'
import { QUERIES, bareApp, listen, type KvBody } from './bare-app.js'

const pool = new pg.Pool({
  host: process.env.POSTGRES_HOST,
  port: Number(process.env.POSTGRES_PORT ?? 5432),
  user: process.env.POSTGRES_USER,
  password: process.env.POSTGRES_PASSWORD,
  database: process.env.POSTGRES_DATABASE,
  max: Number(process.env.POSTGRES_POOL_MAX ?? 10),
})
pool.on('error', () => undefined)

async function one(name: keyof typeof QUERIES, values: unknown[] = []) {
  const result = await pool.query({ name, text: QUERIES[name], values })
  return result.rows[0] as Record<string, unknown> | undefined
}

const app = bareApp()
app.get('/health', async () => ({ status: 'ok' }))
app.get('/ready', async () => {
  await one('ping')
  return { status: 'ready' }
})
app.get<{ Params: { key: string } }>('/kv/:key', async (request) => {
  const row = await one('kvRead', [request.params.key])
  return { key: request.params.key, value: JSON.parse(row!.value as string) as unknown }
})
app.put<{ Params: { key: string }; Body: KvBody }>('/kv/:key', async (request) => {
  const { value, path } = request.body
  const row = path === undefined ? await one('kvWrite', [request.params.key, JSON.stringify(value)]) : await one('kvPathWrite', [request.params.key, path.split('.'), JSON.stringify(value)])
  return { key: request.params.key, value: JSON.parse(row!.value as string) as unknown }
})
app.get<{ Params: { key: string } }>('/settings/:key', async (request) => one('settingRead', [request.params.key]))
await listen(app, () => pool.end())
