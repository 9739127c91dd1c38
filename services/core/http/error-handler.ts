import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify'
import { driverError, isServiceError, type ServiceError } from '../errors.js'

/**
 * Says what an error that is not a ServiceError means for the caller, or undefined if it does not
 * know it: a module registers one for the failures of what it owns (the database service for a
 * lost PostgreSQL connection), so that they answer with its code instead of an unexplained 500.
 */
export type ErrorTranslator = (error: unknown, request: FastifyRequest) => ServiceError | undefined

/**
 * The one error handler. A ServiceError's status is the one its service declared for its code
 * (see defineErrors); anything else is a 500 whose body leaks nothing.
 */
export function registerErrorHandling(app: FastifyInstance): (translate: ErrorTranslator) => void {
  const translators: ErrorTranslator[] = []
  const translate = (error: unknown, request: FastifyRequest) => {
    for (const translator of translators) {
      const translated = translator(error, request)
      if (translated) return translated
    }
    return undefined
  }
  app.setErrorHandler((thrown: FastifyError, request, reply) => {
    // A ServiceError thrown from inside a query (the transaction guard's) arrives wrapped by Drizzle.
    const cause = driverError(thrown)
    // Fastify's own client errors (validation, a body the client aborted: ECONNRESET) are the caller's, never a module's.
    const clientError = Boolean(thrown.validation) || (typeof thrown.statusCode === 'number' && thrown.statusCode >= 400 && thrown.statusCode < 500)
    const error = isServiceError(cause) ? cause : clientError ? thrown : (translate(thrown, request) ?? thrown)
    if (isServiceError(error)) {
      const status = error.status
      // A 4xx is the caller's to fix: one line. A 503 is a passing state (not set up, unreachable)
      // that its service reports once, as it changes: one line each. Any other 5xx is ours: the whole cause.
      if (status >= 500 && status !== 503) request.log.error({ err: error, code: error.code }, error.message)
      else if (status === 503) request.log.warn({ code: error.code }, error.message)
      else request.log.info({ code: error.code }, error.message)
      if (typeof error.details.retry_after_s === 'number') {
        reply.header('retry-after', String(error.details.retry_after_s))
      }
      return reply.status(status).send({ error: error.code, message: error.message, ...error.details })
    }
    if (error.validation) {
      return reply.status(400).send({ error: 'invalid_request', message: validationMessage(error) })
    }
    if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
      // Fastify's own client errors (bad JSON, wrong content type, body too large).
      const code = error.statusCode === 413 ? 'payload_too_large' : error.statusCode === 415 ? 'unsupported_media_type' : 'invalid_request'
      return reply.status(error.statusCode).send({ error: code, message: error.message })
    }
    request.log.error({ err: error }, 'unhandled error')
    return reply.status(500).send({ error: 'internal_error', message: 'An unexpected error occurred. The server log has the details (search it for this request id).', request_id: request.id })
  })

  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send({ error: 'not_found', message: `No route for ${request.method} ${request.url.split('?')[0]}.` })
  })
  return (translator) => void translators.push(translator)
}

function validationMessage(error: FastifyError): string {
  const context = error.validationContext ?? 'request'
  const issues = error.validation ?? []
  // A union of constants (TypeBox's Type.Union of Type.Literal) fails as one "must be equal to
  // constant" per branch and then "must match a schema in anyOf": say it as the list it is.
  const folded = new Map<string, unknown[]>()
  for (const issue of issues) {
    if (issue.keyword !== 'anyOf') continue
    const branches = issues.filter((other) => other.schemaPath.startsWith(`${issue.schemaPath}/`))
    if (branches.length > 0 && branches.every((branch) => branch.keyword === 'const' && branch.instancePath === issue.instancePath)) {
      folded.set(issue.schemaPath, branches.map((branch) => (branch.params as { allowedValue: unknown }).allowedValue))
    }
  }
  const parts = issues.flatMap((issue) => {
    const field = issue.instancePath ? `${context}${issue.instancePath.replace(/\//g, '.')}` : context
    const params = issue.params as Record<string, unknown>
    if (issue.keyword === 'anyOf' && folded.has(issue.schemaPath)) return [`${field} must be one of: ${folded.get(issue.schemaPath)!.join(', ')}`]
    if (issue.keyword === 'const' && [...folded.keys()].some((anyOf) => issue.schemaPath.startsWith(`${anyOf}/`))) return []
    if (issue.keyword === 'enum') return [`${field} must be one of: ${(params.allowedValues as unknown[]).join(', ')}`]
    if (issue.keyword === 'additionalProperties') return [`${field} has an unknown field "${String(params.additionalProperty)}"`]
    if (issue.keyword === 'required') return [`${field} is missing the field "${String(params.missingProperty)}"`]
    return [`${field} ${issue.message ?? 'is invalid'}`]
  })
  return `Invalid ${context}: ${parts.join('; ')}.`
}
