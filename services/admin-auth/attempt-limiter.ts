/**
 * Slows down guessing: after FREE_FAILURES wrong tokens from one address, each further attempt
 * must wait twice as long as the previous one (up to MAX_WAIT_MS). A right token clears the count.
 */
const FREE_FAILURES = 5
const BASE_WAIT_MS = 1_000
const MAX_WAIT_MS = 15 * 60_000
const FORGET_AFTER_MS = 60 * 60_000
const MAX_TRACKED = 10_000

interface Record {
  failures: number
  blockedUntil: number
  lastSeen: number
}

export class AttemptLimiter {
  private readonly records = new Map<string, Record>()

  constructor(private readonly now: () => number = Date.now) {}

  /** Milliseconds this address must still wait, or 0. */
  waitFor(address: string): number {
    const record = this.records.get(address)
    return record ? Math.max(0, record.blockedUntil - this.now()) : 0
  }

  fail(address: string): void {
    const now = this.now()
    this.prune(now)
    const record = this.records.get(address) ?? { failures: 0, blockedUntil: 0, lastSeen: now }
    record.failures += 1
    record.lastSeen = now
    if (record.failures > FREE_FAILURES) {
      record.blockedUntil = now + Math.min(BASE_WAIT_MS * 2 ** (record.failures - FREE_FAILURES - 1), MAX_WAIT_MS)
    }
    this.records.set(address, record)
  }

  succeed(address: string): void {
    this.records.delete(address)
  }

  private prune(now: number): void {
    for (const [address, record] of this.records) {
      if (now - record.lastSeen > FORGET_AFTER_MS && record.blockedUntil < now) this.records.delete(address)
    }
    // Under a flood of addresses, forget the oldest rather than grow without bound.
    while (this.records.size >= MAX_TRACKED) {
      const oldest = this.records.keys().next().value
      if (oldest === undefined) break
      this.records.delete(oldest)
    }
  }
}
