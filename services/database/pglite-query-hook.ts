import type { PGlite, QueryOptions, Results, Transaction } from '@electric-sql/pglite'

export type Query = (text: string, params?: unknown[], options?: QueryOptions) => Promise<Results>

/**
 * Replaces `client.query`, and the `query` of every transaction `client.transaction` opens, with
 * `wrap(original, tx)` (tx is null outside a transaction). Patches the instance, as the
 * transaction guard does, so every user of the client, Drizzle or not, goes through the same
 * entry points; hooks applied one after another stack, the last applied running first.
 */
export function hookQueries(client: PGlite, wrap: (query: Query, tx: Transaction | null) => Query): PGlite {
  const query = client.query.bind(client) as Query
  const transaction = client.transaction.bind(client)
  Object.assign(client, {
    query: wrap(query, null),
    transaction: <T>(callback: (tx: Transaction) => Promise<T>) =>
      transaction((tx) => callback(Object.create(tx, { query: { value: wrap(tx.query.bind(tx) as Query, tx) } }) as Transaction)),
  })
  return client
}
