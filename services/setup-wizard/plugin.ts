import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import { findProjectRoot } from '../core/project-root.js'
import routes from './routes.js'

/** Paths the page itself navigates to; a reload or a deep link on any of them gets the page. */
export const PAGE_STEPS = ['unlock', 'choose', 'embedded', 'postgresql'] as const

// The page loads nothing from elsewhere and is never framed.
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

/**
 * The /setup page (static files, no build step) and its API. `/` sends people to the page until a
 * database is chosen; after that it describes the service instead of redirecting, so it stays
 * free for the product.
 */
const setupWizard: FastifyPluginAsyncTypebox = async (app) => {
  const { database } = app
  await app.register(fastifyStatic, {
    root: publicFolder(),
    prefix: '/setup/',
    // Serve only the files present at start, and redirect the bare /setup to /setup/.
    wildcard: false,
    redirect: true,
    index: 'index.html',
    cacheControl: false,
    setHeaders: (reply) => {
      reply.header('cache-control', 'no-cache')
      reply.headers(PAGE_HEADERS)
    },
  })

  for (const step of PAGE_STEPS) {
    // A page, not part of the API: kept out of the OpenAPI document.
    app.get(`/setup/${step}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html'))
  }

  app.get(
    '/',
    {
      schema: {
        operationId: 'getServiceDescription',
        tags: ['setup'],
        summary: 'Sends people to /setup until a database is chosen; afterwards says what this service is',
        response: {
          200: Type.Object({
            service: Type.Literal('groundwork'),
            database: Type.Object({ type: Type.Union([Type.String(), Type.Null()]), ready: Type.Boolean() }),
            links: Type.Record(Type.String(), Type.String()),
          }),
        },
      },
    },
    async (_request, reply) => {
      const status = database.status()
      if (!status.configured) return reply.redirect('/setup/', 302)
      return {
        service: 'groundwork' as const,
        database: { type: status.type, ready: status.initialized },
        links: { status: '/api/db/status', health: '/health', ready: '/ready', setup: '/setup/' },
      }
    },
  )

  await app.register(routes, { prefix: '/api/setup' })
}

// Named for dependency checks; the page's static files stay encapsulated in their own scope.
export default fp(
  async (app) => {
    await app.register(setupWizard)
  },
  { name: 'setup-wizard', dependencies: ['core', 'admin-auth', 'database'] },
)

function publicFolder(): string {
  // Next to this file when run from source; the compiled build does not copy it, so fall back to the source tree.
  const candidates = [fileURLToPath(new URL('./public/', import.meta.url)), join(findProjectRoot(), 'services', 'setup-wizard', 'public')]
  const found = candidates.find((folder) => existsSync(join(folder, 'index.html')))
  if (!found) throw new Error(`The setup page's files are missing (looked in ${candidates.join(' and ')}): ship services/setup-wizard/public with the service.`)
  return found
}
