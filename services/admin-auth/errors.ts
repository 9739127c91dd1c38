import { defineErrors } from '../core/errors.js'

export const adminAuthError = defineErrors({
  unauthorized: 401,
  too_many_attempts: 429,
})
