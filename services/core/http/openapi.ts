import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import swagger from '@fastify/swagger'
import type { FastifyInstance } from 'fastify'
import { findProjectRoot } from '../project-root.js'

/**
 * The OpenAPI document, built from the routes' own TypeBox schemas, so it cannot drift from what
 * the server validates and sends. Register before the routes; served at /api/openapi.json.
 */
export async function registerOpenApi(app: FastifyInstance): Promise<void> {
  const { version } = JSON.parse(readFileSync(join(findProjectRoot(), 'package.json'), 'utf8')) as { version: string }
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'groundwork', version, description: 'A backend whose database is chosen on first run.' },
      // Relative: the document is served by the server it describes, whatever its address.
      servers: [{ url: '/', description: 'This server' }],
      // Public unless a route says otherwise; admin routes declare `security: [{ adminToken: [] }]`.
      security: [],
      components: {
        securitySchemes: {
          adminToken: {
            type: 'http',
            scheme: 'bearer',
            description: 'ADMIN_TOKEN, or the token generated into persistent_data/admin.token on first start.',
          },
        },
      },
    },
  })
  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}
