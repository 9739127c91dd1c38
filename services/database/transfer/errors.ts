import { defineErrors } from '../../core/errors.js'

/** Codes of moving data between databases: `db transfer` and the logical backups. */
export const transferError = defineErrors({
  transfer_refused: 409,
  transfer_mismatch: 500,
  backup_invalid: 422,
})
