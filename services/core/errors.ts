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

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
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
