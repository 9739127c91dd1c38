/** Retry delays for anything that waits on the database: 1 s, doubling, at most 30 s. */
export const RETRY_MIN_MS = 1_000
export const RETRY_MAX_MS = 30_000

export class Backoff {
  private delay: number

  constructor(
    private readonly min = RETRY_MIN_MS,
    private readonly max = RETRY_MAX_MS,
  ) {
    this.delay = min
  }

  /** The delay to wait now; the one after it is twice as long, up to the maximum. */
  next(): number {
    const delay = this.delay
    this.delay = Math.min(this.delay * 2, this.max)
    return delay
  }

  reset(): void {
    this.delay = this.min
  }
}
