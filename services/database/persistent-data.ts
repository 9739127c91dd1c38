import { ServiceError } from '../core/errors.js'

/** A file under PERSISTENT_DATA_DIR could not be created or written: say which, why, and what to change. */
export function unwritable(dataDir: string, what: string, cause: unknown): ServiceError {
  const code = (cause as NodeJS.ErrnoException).code ?? (cause instanceof Error ? cause.message : String(cause))
  return new ServiceError(
    'persistent_data_unwritable',
    `Could not write ${what} (${code}). The folder ${dataDir} (PERSISTENT_DATA_DIR) must be a writable folder for the user running the server: fix its ownership, permissions or free space, then try again. Nothing was recorded.`,
    { cause },
  )
}
