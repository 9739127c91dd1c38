// The HTTP baseline: a bare Fastify route returning a constant. With CONSTANT_JSON, /constant
// returns that document too: a constant as large as the body of the route it is compared with.
import { bareApp, listen } from './bare-app.js'

const app = bareApp()
app.get('/health', async () => ({ status: 'ok' }))
const constant = process.env.CONSTANT_JSON ? (JSON.parse(process.env.CONSTANT_JSON) as unknown) : null
if (constant !== null) app.get('/constant', async () => constant)
await listen(app)
