import { DrizzleQueryError } from 'drizzle-orm/errors'

/**
 * Every error a service means a person to read. `code` is stable and machine-readable; the
 * message says what failed, why, and what to do. Each service declares its own codes and their
 * HTTP statuses in its `errors.ts` with defineErrors(); the one error handler reads them from here.
 */
export class ServiceError extends Error {
  readonly code: string
  /** Extra fields for the response body (never secrets). */
  readonly details: Record<string, unknown>

  constructor(code: string, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause })
    this.name = 'ServiceError'
    this.code = code
    this.details = options.details ?? {}
  }

  /** The HTTP status its service declared for the code; 500 for a code nobody declared. */
  get status(): number {
    return STATUSES.get(this.code) ?? 500
  }
}

export type ErrorFactory<Code extends string> = ((code: Code, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) => ServiceError) & {
  readonly statuses: Readonly<Record<Code, number>>
}

const STATUSES = new Map<string, number>()

/**
 * Declares a service's error codes and their HTTP statuses, and returns the typed way to throw
 * them: `export const kvError = defineErrors({ kv_not_found: 404 })`, then
 * `throw kvError('kv_not_found', 'No value is stored under "x".')`. A code declared twice with
 * two statuses is a programming error and fails when the module loads.
 */
export function defineErrors<const S extends Record<string, number>>(statuses: S): ErrorFactory<keyof S & string> {
  for (const [code, status] of Object.entries(statuses)) {
    if (!/^[a-z][a-z0-9_]*$/.test(code)) throw new Error(`Error code "${code}" must be snake_case (a-z, 0-9, _).`)
    if (!Number.isInteger(status) || status < 400 || status > 599) throw new Error(`Error code "${code}" has HTTP status ${status}; expected 400 to 599.`)
    const known = STATUSES.get(code)
    if (known !== undefined && known !== status) throw new Error(`Error code "${code}" is declared twice, with statuses ${known} and ${status}: give one of them another code.`)
    STATUSES.set(code, status)
  }
  const make = (code: keyof S & string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) => new ServiceError(code, message, options)
  return Object.assign(make, { statuses: Object.freeze({ ...statuses }) as Readonly<Record<keyof S & string, number>> })
}

/** Codes every service may throw, and those the HTTP layer itself answers with. */
export const coreError = defineErrors({
  invalid_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal_error: 500,
  transaction_misuse: 500,
})

export function isServiceError(error: unknown, code?: string): error is ServiceError {
  return error instanceof ServiceError && (code === undefined || error.code === code)
}

/** A readable text for any thrown value: WASM code throws objects that are not Errors and have no message. */
export function messageOf(error: unknown): string {
  if (typeof error === 'string') return error || 'an error without a message'
  if (typeof error !== 'object' || error === null) return `${String(error)} thrown`
  const { message, code, errno, name } = error as { message?: unknown; code?: unknown; errno?: unknown; name?: unknown }
  if (typeof message === 'string' && message !== '') return message
  const kind = typeof name === 'string' && name !== '' ? name : error.constructor?.name || 'an error'
  const detail = [typeof code === 'string' ? code : null, typeof errno === 'number' ? `errno ${errno}` : null].filter(Boolean).join(', ')
  return detail ? `${kind} (${detail}) without a message` : `${kind} without a message`
}

/**
 * The driver's own error behind Drizzle's wrapper: DrizzleQueryError's message is the SQL text,
 * while the cause holds what the database said (its message and SQLSTATE code).
 */
export function driverError(error: unknown): unknown {
  let current = error
  while (current instanceof DrizzleQueryError && current.cause) current = current.cause
  return current
}
