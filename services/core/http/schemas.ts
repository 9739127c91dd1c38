import { Type } from 'typebox'

/** The body of every error response: a stable code and a message for a person. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'stable, machine-readable code' }),
    message: Type.String({ description: 'what failed, why, and what to do' }),
  },
  { additionalProperties: true, description: 'An error: `error` is a stable code, `message` says what failed, why and what to do.' },
)

const MEANING: Record<number, string> = {
  400: 'The request is invalid: the message names the field and what it expects.',
  401: 'The admin token is missing or wrong.',
  404: 'Nothing is stored under that name.',
  409: 'The request conflicts with the current state.',
  413: 'The request or value is too large.',
  429: 'Too many wrong admin tokens from this address; see Retry-After.',
  500: 'The server failed; the message says what to do, the log has the cause.',
  502: 'The database refused or could not be reached.',
  503: 'The database is not ready yet.',
  507: 'The data folder is full.',
}

/** The error answers a route can give, each with the one error body: `...errorResponses(400, 401)`. */
export function errorResponses<const S extends number>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, { ...ErrorBody, description: MEANING[status] ?? 'An error.' }])) as unknown as Record<S, typeof ErrorBody>
}
