import { defineErrors } from '../core/errors.js'

/** The jobs service's codes: declaring queues, sending jobs, and the admin's job routes. */
export const jobsError = defineErrors({
  job_queue_not_found: 404,
  job_not_found: 404,
  job_state_conflict: 409,
  jobs_not_started: 503,
  job_definition_invalid: 500,
  /** A programming error: the caller is inside a transaction it did not pass, or passed no transaction. */
  job_send_misuse: 500,
})
