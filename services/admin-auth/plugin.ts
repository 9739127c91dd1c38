import fp from 'fastify-plugin'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { adminAuthError } from './errors.js'
import { AttemptLimiter } from './attempt-limiter.js'
import { loadAdminToken } from './admin-token.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** preHandler for routes only the installing admin may call. */
    requireAdmin: (request: FastifyRequest, reply: FastifyReply) => Promise<void>
  }
}

/** Bearer-token guard for the admin routes. The token is read from the Authorization header only, never a query string. */
export default fp(
  async (app) => {
    const limiter = new AttemptLimiter()
    const token = await loadAdminToken(app.config, app.log)

    app.decorate('requireAdmin', async (request: FastifyRequest) => {
      const wait = limiter.waitFor(request.ip)
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000)
        throw adminAuthError('too_many_attempts', `Too many wrong admin tokens from this address. Wait ${seconds} s before trying again.`, {
          details: { retry_after_s: seconds },
        })
      }
      const header = request.headers.authorization ?? ''
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
      if (match?.[1] && token.matches(match[1])) {
        limiter.succeed(request.ip)
        return
      }
      if (header) limiter.fail(request.ip)
      throw adminAuthError(
        'unauthorized',
        `${header ? 'The admin token is wrong.' : 'This action needs the admin token.'} Send it as "Authorization: Bearer <token>". Find it in ${token.hint}${token.source === 'file' ? ' (the server logged this path at startup)' : ''}.`,
      )
    })
  },
  { name: 'admin-auth', dependencies: ['core'] },
)
