import { Type, type Static, type TSchema, type TSchemaOptions, type TUnsafe } from 'typebox'

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
  409: 'The request conflicts with the current state, or its transaction with another one running at the same time (database_conflict: retry).',
  413: 'The request or value is too large.',
  429: 'Too many wrong admin tokens from this address; see Retry-After.',
  500: 'The server failed; the message says what to do, the log has the cause.',
  502: 'The database refused or could not be reached.',
  503: 'The database is not ready yet, could not be reached, canceled the query or lacked a resource for it: try again later.',
  507: 'The disk holding the data is full: the data folder, or the PostgreSQL server\'s.',
}

/** The error answers a route can give, each with the one error body: `...errorResponses(400, 401)`. */
export function errorResponses<const S extends number>(...statuses: S[]): Record<S, typeof ErrorBody> {
  return Object.fromEntries(statuses.map((status) => [status, { ...ErrorBody, description: MEANING[status] ?? 'An error.' }])) as unknown as Record<S, typeof ErrorBody>
}

/*
 * Response schemas for fast-json-stringify. A union (anyOf) makes it run an Ajv validation of the
 * value on every response to pick the branch to serialize, and an enum without a type falls back
 * to JSON.stringify: /api/db/status paid both for each of its nullable fields and every service in
 * it. `type: [T, 'null']` and a typed enum are serialized with a typeof check. The document shown
 * at /api/openapi.json (OpenAPI 3.1) says the same as the union would.
 */

/** `T | null`, for a response schema with one type (a string, a number, an object, a StringEnum…). */
export function Nullable<T extends TSchema>(schema: T, options: TSchemaOptions = {}): TUnsafe<Static<T> | null> {
  const { type, enum: values, const: only, ...rest } = schema as { type?: unknown; enum?: unknown; const?: unknown }
  if (typeof type !== 'string') throw new Error(`Nullable() takes a schema with one type, not ${JSON.stringify(schema)}`)
  // A list of allowed values (an enum, or a literal's const) has to admit null too.
  const allowed = Array.isArray(values) ? [...(values as unknown[]), null] : only !== undefined ? [only, null] : undefined
  return Type.Unsafe<Static<T> | null>({ ...rest, ...options, type: [type, 'null'], ...(allowed ? { enum: allowed } : {}) })
}

/** One of a list of strings, typed as a string for the serializer (Type.Enum leaves the type out). */
export function StringEnum<const V extends readonly string[]>(values: V, options: TSchemaOptions = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ ...options, type: 'string', enum: [...values] })
}
