import { describe, expect, it } from 'vitest'
import { Backoff, RETRY_MAX_MS, RETRY_MIN_MS } from './backoff.js'

describe('the retry backoff', () => {
  it('waits 1 s, doubling up to 30 s, and starts over at 1 s after a reset', () => {
    const backoff = new Backoff()
    expect(Array.from({ length: 8 }, () => backoff.next())).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000])
    backoff.reset()
    expect(backoff.next()).toBe(RETRY_MIN_MS)
    expect(RETRY_MAX_MS).toBe(30_000)
  })
})
