import { defineErrors } from '../core/errors.js'

/** The database service's codes: choosing, opening, migrating and locking the database. */
export const databaseError = defineErrors({
  missing_settings: 400,
  already_configured: 409,
  setup_in_progress: 409,
  selection_file_invalid: 409,
  backup_unsupported: 409,
  /** GET /api/db/backup named (by its lock) an embedded database this server does not hold: another installation's server answered. */
  backup_wrong_database: 409,
  migrations_out_of_order: 500,
  migration_failed: 500,
  migrations_missing: 500,
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
  /** A request's query met a lost PostgreSQL connection. */
  database_unavailable: 503,
  /** PostgreSQL canceled a request's query: statement_timeout, lock_timeout, pg_cancel_backend, a replica's recovery. */
  database_query_canceled: 503,
  /** PostgreSQL refused a write: a standby, or default_transaction_read_only. */
  database_read_only: 503,
  /** PostgreSQL ended a request's transaction for a deadlock or a serialization failure: retry. */
  database_conflict: 409,
  /** PostgreSQL lacked memory or met a configured limit (temp_file_limit) for a request's query. */
  database_insufficient_resources: 503,
  /** PostgreSQL's disk is full (the embedded database's is persistent_data_full). */
  database_full: 507,
})
