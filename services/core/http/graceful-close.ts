import type { FastifyInstance } from 'fastify'

/**
 * On close, Fastify stops accepting and drops idle keep-alive connections, but a connection whose
 * request is still running stays open after its response and holds the close until the
 * keep-alive timeout. Answering such requests with `Connection: close` lets the drain end as soon
 * as the last response is sent.
 */
export function closeConnectionsWhenClosing(app: FastifyInstance): void {
  let closing = false
  app.addHook('preClose', async () => {
    closing = true
  })
  // Runs on every response: the callback form spares a promise per request.
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close')
    done(null, payload)
  })
}
