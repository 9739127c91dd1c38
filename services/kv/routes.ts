import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { coreError } from '../core/errors.js'
import { errorResponses, Nullable } from '../core/http/schemas.js'
import { parseJsonText } from './json-text.js'
import type { JsonValue } from './json-value.js'
import type { KvService } from './service.js'

// A 1 MiB value may arrive with every character \u-escaped and pretty-printed: leave room for
// that, and let the service measure the value itself (413 kv_value_too_large).
const BODY_LIMIT = 4 * 1024 * 1024

const KeyParams = Type.Object({
  key: Type.String({ description: 'The key, percent-encoded (encodeURIComponent): 1–512 bytes of UTF-8; "/" travels as %2F.' }),
})
const Entry = Type.Object({ key: Type.String(), value: Type.Unknown({ description: 'Any JSON value' }) })
const GetQuery = Type.Object(
  {
    path: Type.Optional(Type.String({ description: 'A dot path inside the value, such as a.b.0; all-digit parts index arrays' })),
    part: Type.Optional(
      Type.Union([Type.String(), Type.Array(Type.String())], { description: 'The path as parts, one per repeated parameter (?part=a.b&part=0), for names that hold dots' }),
    ),
  },
  { additionalProperties: false },
)
const SetBody = Type.Object(
  {
    value: Type.Unknown({ description: 'Any JSON value, at most 1 MiB as JSON' }),
    path: Type.Optional(
      Type.Union([Type.String({ description: 'A dot path: all-digit parts create arrays' }), Type.Array(Type.String(), { description: 'The parts: each creates an object' })], {
        description: 'Write inside the stored value and keep the rest; without it the value is replaced',
      }),
    ),
  },
  { additionalProperties: false },
)
/**
 * PUT and DELETE take no query string. ?path= and ?part= (GET's) are named only to be refused with
 * their own message: ignored, they would let the whole value be replaced or removed.
 */
const PathOrPart = Type.Optional(Type.Union([Type.String(), Type.Array(Type.String())]))
const WriteQuery = Type.Object({ path: PathOrPart, part: PathOrPart }, { additionalProperties: false })
const ListQuery = Type.Object(
  {
    prefix: Type.Optional(Type.String({ description: 'Only keys starting with this text, taken literally' })),
    limit: Type.Optional(Type.String({ pattern: '^[0-9]+$', description: 'Keys per page, 1–1000 (default 100)' })),
    cursor: Type.Optional(Type.String({ description: 'next_cursor from the previous page' })),
  },
  { additionalProperties: false },
)
const KeyPage = Type.Object({
  keys: Type.Array(Type.String(), { description: 'In byte order (UTF-8)' }),
  next_cursor: Nullable(Type.String(), { description: 'Pass as cursor for the next page; null on the last page' }),
})

const security = [{ adminToken: [] }]
const tags = ['kv']

/** The KV store over HTTP, admin only. Mounted at /api/kv. */
const routes: FastifyPluginAsyncTypebox<{ service: KvService }> = async (app, { service }) => {
  // Before the body is read: a caller without the token never gets a large body parsed.
  app.addHook('onRequest', app.requireAdmin)
  // Fastify refuses bodies with a "__proto__" name by default. JSON.parse keeps such a name as an
  // ordinary own property, and the store never merges values by assignment, so it is plain data here.
  // Bodies with a backslash may hold escaped names, which V8's JSON.parse can misread (json-text.ts).
  // Fastify's parser still answers the ones that are not JSON, with its usual error.
  const fastifyJson = app.getDefaultJsonParser('ignore', 'ignore')
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: BODY_LIMIT }, (request, body, done) => {
    const text = body.toString()
    if (!text.includes('\\')) return fastifyJson(request, text, done)
    let value: JsonValue
    try {
      value = parseJsonText(text)
    } catch {
      return fastifyJson(request, text, done)
    }
    done(null, value)
  })

  app.get(
    '',
    {
      schema: {
        operationId: 'listKvKeys',
        tags,
        summary: 'List keys, a page at a time, in byte order',
        security,
        querystring: ListQuery,
        response: { 200: KeyPage, ...errorResponses(400, 401, 429, 503) },
      },
    },
    async (request) => {
      const { prefix, limit, cursor } = request.query
      const page = await service.list({ prefix, cursor, limit: limit === undefined ? undefined : Number(limit) })
      return { keys: page.keys, next_cursor: page.nextCursor }
    },
  )

  app.get(
    '/:key',
    {
      schema: {
        operationId: 'getKvValue',
        tags,
        summary: 'Read the value under a key, or the part of it at a path',
        security,
        params: KeyParams,
        querystring: GetQuery,
        response: { 200: Entry, ...errorResponses(400, 401, 404, 429, 503) },
      },
    },
    async (request) => {
      const { path, part } = request.query
      if (path !== undefined && part !== undefined) throw coreError('invalid_request', 'Give the path either as ?path=a.b (dot form) or as repeated ?part= parameters, not both.')
      const parts = typeof part === 'string' ? [part] : part
      return { key: request.params.key, value: await service.get(request.params.key, path ?? parts) }
    },
  )

  app.put(
    '/:key',
    {
      bodyLimit: BODY_LIMIT,
      schema: {
        operationId: 'setKvValue',
        tags,
        summary: 'Store a value under a key, or write inside it at a path',
        description: 'Answers with the whole stored value after the write.',
        security,
        params: KeyParams,
        querystring: WriteQuery,
        body: SetBody,
        response: { 200: Entry, ...errorResponses(400, 401, 409, 413, 429, 503, 507) },
      },
    },
    async (request) => {
      if (request.query.path !== undefined || request.query.part !== undefined) {
        throw coreError('invalid_request', 'PUT takes the path in its JSON body, {"value": …, "path": "a.b"}; ?path= and ?part= are for GET. Nothing was written.')
      }
      return { key: request.params.key, value: await service.set(request.params.key, request.body.value, request.body.path) }
    },
  )

  app.delete(
    '/:key',
    {
      schema: {
        operationId: 'deleteKvValue',
        tags,
        summary: 'Remove a key and its value',
        security,
        params: KeyParams,
        querystring: WriteQuery,
        response: { 204: Type.Null({ description: 'Removed' }), ...errorResponses(400, 401, 404, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      if (request.query.path !== undefined || request.query.part !== undefined) {
        throw coreError('invalid_request', 'DELETE removes a whole key and takes no path (?path= and ?part= are for GET): to remove a part of the value, PUT the value without it. Nothing was removed.')
      }
      await service.delete(request.params.key)
      return reply.code(204).send(null)
    },
  )
}

export default routes
