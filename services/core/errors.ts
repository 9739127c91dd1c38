import { DrizzleQueryError } from 'drizzle-orm/errors'

/**
 * Every error a service means a person to read. `code` is stable and machine-readable; the
 * message says what failed, why, and what to do. HTTP statuses are assigned in one place
 * (http/error-handler.ts), never here.
 */
export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'too_many_attempts'
  | 'not_found'
  | 'database_not_ready'
  | 'already_configured'
  | 'setup_in_progress'
  | 'selection_file_invalid'
  | 'missing_settings'
  | 'database_unreachable'
  | 'database_auth_failed'
  | 'database_not_found'
  | 'database_tls_failed'
  | 'database_permission_denied'
  | 'database_locked'
  | 'persistent_data_unwritable'
  | 'persistent_data_full'
  | 'database_error'
  | 'migrations_missing'
  | 'migrations_out_of_order'
  | 'migration_failed'
  | 'internal_error'

export class ServiceError extends Error {
  readonly code: ErrorCode
  /** Extra fields for the response body (never secrets). */
  readonly details: Record<string, unknown>

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause })
    this.name = 'ServiceError'
    this.code = code
    this.details = options.details ?? {}
  }
}

export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof ServiceError
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
