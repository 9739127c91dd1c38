import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { desc } from 'drizzle-orm'
import { Type } from 'typebox'
import { errorResponses } from '../../services/core/http/schemas.js'
import type { PluginContext } from '../../services/plugins/definition.js'
import { pruneOldNotes } from './prune.js'
import { notes } from './schema.js'
import type * as tables from './schema.js'
import type { settings } from './settings.js'

const Note = Type.Object({ id: Type.String(), title: Type.String(), body: Type.String(), created_at: Type.String() })
const NewNote = Type.Object({ title: Type.String({ minLength: 1, maxLength: 200 }), body: Type.Optional(Type.String({ maxLength: 10_000 })) }, { additionalProperties: false })

const routes: FastifyPluginAsyncTypebox<PluginContext<typeof tables, typeof settings.settings>> = async (app, context) => {
  const view = (row: typeof notes.$inferSelect) => ({ id: row.id, title: row.title, body: row.body, created_at: row.createdAt })

  app.get(
    '/notes',
    {
      preHandler: app.requireAdmin,
      schema: { operationId: 'listNotes', tags: ['plugin notes'], summary: 'The newest notes, up to 100', security: [{ adminToken: [] }], response: { 200: Type.Array(Note), ...errorResponses(401, 429, 503) } },
    },
    async () => (await context.getDb().select().from(notes).orderBy(desc(notes.createdAt)).limit(100)).map(view),
  )

  app.post(
    '/notes',
    {
      preHandler: app.requireAdmin,
      schema: { operationId: 'createNote', tags: ['plugin notes'], summary: 'Write a note', security: [{ adminToken: [] }], body: NewNote, response: { 201: Note, ...errorResponses(400, 401, 429, 503) } },
    },
    async (request, reply) => {
      const [row] = await context.getDb().insert(notes).values({ title: request.body.title, body: request.body.body ?? '' }).returning()
      return reply.code(201).send(view(row!))
    },
  )

  app.post(
    '/prune',
    {
      preHandler: app.requireAdmin,
      schema: {
        operationId: 'pruneNotes',
        tags: ['plugin notes'],
        summary: 'Run the prune_old_notes job now',
        security: [{ adminToken: [] }],
        response: { 200: Type.Object({ removed: Type.Integer() }), ...errorResponses(401, 429, 503) },
      },
    },
    async () => ({ removed: await pruneOldNotes(context) }),
  )
}

export default routes
