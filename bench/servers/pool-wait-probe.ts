// Loaded with --import into our server for the overload run: records the longest time a query
// waited for a pool connection and writes it to POOL_WAIT_FILE (pg exposes no such figure).
import { writeFileSync } from 'node:fs'
import pg from 'pg'

type Connect = (callback?: (error: Error | undefined, client: unknown, release: unknown) => void) => unknown
let longest = 0
let waits = 0
const prototype = pg.Pool.prototype as unknown as { connect: Connect }
const connect = prototype.connect
prototype.connect = function (this: unknown, callback) {
  const start = performance.now()
  const done = () => {
    waits += 1
    longest = Math.max(longest, performance.now() - start)
  }
  if (callback) return connect.call(this, (error, client, release) => (done(), callback(error, client, release)))
  return (connect.call(this) as Promise<unknown>).then((client) => (done(), client))
}
const file = process.env.POOL_WAIT_FILE
if (file) setInterval(() => writeFileSync(file, JSON.stringify({ longestMs: longest, waits })), 200).unref()
