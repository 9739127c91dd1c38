// The PGlite baseline: bare routes on raw PGlite, opened on a copy of a migrated data folder (PGLITE_DIR).
import { PGlite } from '@electric-sql/pglite'
import { QUERIES, bareApp, listen, type KvBody } from './bare-app.js'

const client = await PGlite.create(process.env.PGLITE_DIR!)

async function one(name: keyof typeof QUERIES, values: unknown[] = []) {
  const result = await client.query<Record<string, unknown>>(QUERIES[name], values)
  return result.rows[0]
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
await listen(app, () => client.close())
