import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { errorResponses } from '../core/http/schemas.js'
import { InvalidValuesBody, SettingBody, SettingsListBody, SettingsPatchResult } from './schemas.js'

const KeyParams = Type.Object({ key: Type.String({ description: '`<group id>.<name>`, e.g. smtp.port' }) })
const security = [{ adminToken: [] }]
const tags = ['settings']
const errors = errorResponses(401, 404, 429, 500, 503)

/** /api/settings: the application's own configuration, for the admin. Thin: the service does the work. */
const routes: FastifyPluginAsyncTypebox = async (app) => {
  const service = app.settings
  app.addHook('preHandler', app.requireAdmin)

  app.get(
    '',
    {
      schema: {
        operationId: 'listSettings',
        summary: 'Every setting by group, with the stored settings no definition declares any more',
        description: 'Encrypted settings show `value: null`; `is_set` says whether a secret is stored.',
        tags,
        security,
        response: { 200: SettingsListBody, ...errors },
      },
    },
    async () => service.list(),
  )

  app.get(
    '/:key',
    {
      schema: {
        operationId: 'getSetting',
        summary: 'One setting; `?reveal=true` returns an encrypted value in clear',
        tags,
        security,
        params: KeyParams,
        querystring: Type.Object({ reveal: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])) }, { additionalProperties: false }),
        response: { 200: SettingBody, ...errors, ...errorResponses(400) },
      },
    },
    async (request) => service.describe(request.params.key, { reveal: request.query.reveal === 'true' }),
  )

  app.put(
    '/:key',
    {
      schema: {
        operationId: 'setSetting',
        summary: 'Set one value (of the setting’s type, or null when it is not required)',
        tags,
        security,
        params: KeyParams,
        body: Type.Object({ value: Type.Unknown() }, { additionalProperties: false, examples: [{ value: 2525 }] }),
        response: { 200: SettingBody, ...errors, ...errorResponses(400, 409, 507) },
      },
    },
    async (request) => service.set(request.params.key, request.body.value),
  )

  app.patch(
    '',
    {
      schema: {
        operationId: 'setSettings',
        summary: 'Set several values, all or nothing',
        description: 'Every value is checked first; if one is wrong, nothing is changed and `errors` lists each problem.',
        tags,
        security,
        body: Type.Object(
          { values: Type.Record(Type.String(), Type.Unknown()) },
          { additionalProperties: false, examples: [{ values: { 'smtp.host': 'mail.example.com', 'smtp.port': 465, 'smtp.secure': true } }] },
        ),
        response: { 200: SettingsPatchResult, 400: InvalidValuesBody, ...errors, ...errorResponses(409, 507) },
      },
    },
    async (request) => ({ settings: await service.setMany(request.body.values) }),
  )

  app.delete(
    '/:key',
    {
      schema: {
        operationId: 'resetSetting',
        summary: 'Reset one setting to its default',
        tags,
        security,
        params: KeyParams,
        response: { 200: SettingBody, ...errors, ...errorResponses(409, 507) },
      },
    },
    async (request) => service.reset(request.params.key),
  )
}

export default routes
