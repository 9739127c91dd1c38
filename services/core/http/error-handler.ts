import type { FastifyError, FastifyInstance } from 'fastify'
import { isServiceError, type ErrorCode } from '../errors.js'

/** The one place where a service error's code becomes an HTTP status. */
const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  missing_settings: 400,
  unauthorized: 401,
  not_found: 404,
  already_configured: 409,
  setup_in_progress: 409,
  selection_file_invalid: 409,
  too_many_attempts: 429,
  migrations_out_of_order: 500,
  migration_failed: 500,
  migrations_missing: 500,
  internal_error: 500,
  persistent_data_unwritable: 500,
  persistent_data_full: 507,
  database_unreachable: 502,
  database_auth_failed: 502,
  database_not_found: 502,
  database_tls_failed: 502,
  database_permission_denied: 502,
  database_error: 502,
  database_not_ready: 503,
  database_locked: 503,
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isServiceError(error)) {
      const status = STATUS[error.code]
      // A 4xx is the caller's to fix: one line. A 5xx is ours: the whole cause.
      if (status >= 500) request.log.error({ err: error, code: error.code }, error.message)
      else request.log.info({ code: error.code }, error.message)
      if (error.code === 'too_many_attempts' && typeof error.details.retry_after_s === 'number') {
        reply.header('retry-after', String(error.details.retry_after_s))
      }
      return reply.status(status).send({ error: error.code, message: error.message, ...error.details })
    }
    if (error.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: validationMessage(error) })
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large).
      return reply.status(error.statusCode).send({ error: 'invalid_request', message: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.status(500).send({ error: 'internal_error', message: 'An unexpected error occurred. The server log has the details (search it for this request id).', request_id: request.id })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}.` })
  })
}

function validationMessage(error: FastifyError): string {
  const context = error.validationContext ?? 'request'
  const parts = (error.validation ?? []).map((issue) => {
    const field = issue.instancePath ? `${context}${issue.instancePath.replace(/\//g, '.')}` : context
    const params = issue.params as Record<string, unknown>
    if (issue.keyword === 'enum') return `${field} must be one of: ${(params.allowedValues as unknown[]).join(', ')}`
    if (issue.keyword === 'additionalProperties') return `${field} has an unknown field "${String(params.additionalProperty)}"`
    if (issue.keyword === 'required') return `${field} is missing the field "${String(params.missingProperty)}"`
    return `${field} ${issue.message ?? 'is invalid'}`
  })
  return `Invalid ${context}: ${parts.join('; ')}.`
}
