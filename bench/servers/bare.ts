// The HTTP baseline: a bare Fastify route returning a constant.
import { bareApp, listen } from './bare-app.js'

const app = bareApp()
app.get('/health', async () => ({ status: 'ok' }))
await listen(app)
