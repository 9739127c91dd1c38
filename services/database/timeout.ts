import { databaseError } from './errors.js'

/** `promise`'s value, or database_unreachable with `message` when it has not settled within `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, message: (ms: number) => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(databaseError('database_unreachable', message(ms))), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
