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
  app.addHook('onSend', async (_request, reply, payload) => {
    if (closing) reply.header('connection', 'close')
    return payload
  })
}
