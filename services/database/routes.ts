import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { DATABASE_TYPES } from '../core/config.js'
import { coreError, isServiceError, type ServiceError } from '../core/errors.js'
import { errorResponses } from '../core/http/schemas.js'
import { BACKUP_COUNTS_HEADER, BACKUP_LOCK_HEADER, BackupArchive, SetupRequest, SetupResponse, DatabaseStatusBody } from './schemas.js'

const routes: FastifyPluginAsyncTypebox = async (app) => {
  const { database } = app
  app.get(
    '/status',
    {
      schema: {
        operationId: 'getDatabaseStatus',
        tags: ['database'],
        summary: 'Whether a database is configured and initialized',
        description: 'Answers from memory: never waits on the database and never contains a secret.',
        response: { 200: DatabaseStatusBody },
      },
    },
    async () => database.status(),
  )

  app.get(
    '/backup',
    {
      preHandler: app.requireAdmin,
      schema: {
        operationId: 'backUpEmbeddedDatabase',
        tags: ['database'],
        summary: 'A consistent copy of the embedded database, as a gzipped tar (what "npm run db -- backup" saves)',
        description:
          `Only for the embedded database. The ${BACKUP_COUNTS_HEADER} header holds our tables' row counts in that very copy, to check it against. ` +
          `A ${BACKUP_LOCK_HEADER} request header (the token in persistent_data/pglite.lock) makes sure the server that answers holds that very database: another one answers 409 backup_wrong_database before copying anything.`,
        security: [{ adminToken: [] }],
        response: { 200: BackupArchive, ...errorResponses(401, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      const lock = request.headers[BACKUP_LOCK_HEADER]
      const { archive, bytes, counts } = await database.snapshotEmbedded(typeof lock === 'string' ? lock : undefined)
      reply.header('content-type', 'application/gzip')
      reply.header('content-length', bytes)
      reply.header(BACKUP_COUNTS_HEADER, JSON.stringify(counts))
      return reply.send(archive)
    },
  )

  app.post(
    '/setup',
    {
      preHandler: app.requireAdmin,
      attachValidation: true,
      errorHandler: (error, request, reply) => {
        // A body that is not JSON at all fails before validation: answer it like a wrong one.
        const badBody = !isServiceError(error) && error.statusCode === 400
        app.errorHandler(badBody ? invalidBody(error.message) : error, request, reply)
      },
      schema: {
        operationId: 'setUpDatabase',
        tags: ['database'],
        summary: 'Choose the database, apply the migrations and bring every service up',
        security: [{ adminToken: [] }],
        body: SetupRequest,
        response: { 200: SetupResponse, ...errorResponses(400, 401, 409, 429, 500, 502, 503, 507) },
      },
    },
    async (request) => {
      if (request.validationError) throw invalidBody(request.validationError.message)
      return database.setup(request.body.type)
    },
  )
}

export default routes

function invalidBody(problem: string): ServiceError {
  return coreError(
    'invalid_request',
    `Expected a JSON body {"type": "<kind>"} with no other fields, where <kind> is one of: ${DATABASE_TYPES.join(', ')} (${problem}).`,
    { details: { supported_types: [...DATABASE_TYPES] } },
  )
}
