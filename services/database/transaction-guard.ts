import { AsyncLocalStorage } from 'node:async_hooks'
import { coreError, driverError, isServiceError } from '../core/errors.js'

interface OpenTransaction {
  /** The driver client (PGlite instance or pg Pool) the transaction was started on. */
  readonly owner: object
  open: boolean
}

const openTransactions = new AsyncLocalStorage<readonly OpenTransaction[]>()

/**
 * Makes "a query on the outer database inside its own transaction" an immediate, clear error.
 * On PGlite (one connection) such a query waits for the transaction forever and hangs the whole
 * instance; on PostgreSQL it silently runs outside the transaction, on another connection. Both
 * are the same bug, so both kinds throw `transaction_misuse` the moment it happens.
 *
 * `db.transaction` marks its callback's async flow as inside a transaction of `client`; the
 * client's own entry points (the ones the outer database uses, never the transaction's) refuse to
 * run while that mark is open.
 */
export function guardTransactions<Db extends { transaction: (...args: never[]) => Promise<unknown> }>(db: Db, client: object, entryPoints: string[]): Db {
  const clientMethods = client as Record<string, unknown>
  for (const name of entryPoints) {
    const original = clientMethods[name]
    if (typeof original !== 'function') throw new TypeError(`Cannot guard ${name}: the database client has no such method.`)
    clientMethods[name] = function guarded(this: unknown, ...args: unknown[]) {
      if (insideTransactionOf(client)) return Promise.reject(misuse())
      return original.apply(this, args)
    }
  }

  const transaction = db.transaction.bind(db) as (callback: (tx: unknown) => Promise<unknown>, config?: unknown) => Promise<unknown>
  const guardedTransaction = (callback: (tx: unknown) => Promise<unknown>, config?: unknown) => {
    if (insideTransactionOf(client)) return Promise.reject(misuse())
    const mark: OpenTransaction = { owner: client, open: true }
    const outer = openTransactions.getStore() ?? []
    return transaction((tx) => openTransactions.run([...outer, mark], () => callback(tx)), config)
      .catch((error: unknown) => {
        // Drizzle wraps what the client threw in DrizzleQueryError("Failed query: …"): surface ours.
        const cause = driverError(error)
        throw isServiceError(cause, 'transaction_misuse') ? cause : error
      })
      .finally(() => {
        // Work the callback left running in the background may query the database once it ends.
        mark.open = false
      })
  }
  Object.defineProperty(db, 'transaction', { value: guardedTransaction, configurable: true, writable: true })
  return db
}

/** For a client that runs some queries on `client`'s server without going through its guarded entry points. */
export function refuseInsideTransactionOf(client: object): void {
  if (insideTransactionOf(client)) throw misuse()
}

/**
 * True inside the callback of any guarded `db.transaction` that is still open. For code that takes
 * its own connection (the job queue's `sendNow`) and must refuse to run beside a transaction the
 * caller forgot to pass.
 */
export function insideTransaction(): boolean {
  return openTransactions.getStore()?.some((mark) => mark.open) ?? false
}

function insideTransactionOf(client: object): boolean {
  return openTransactions.getStore()?.some((mark) => mark.open && mark.owner === client) ?? false
}

function misuse() {
  return coreError(
    'transaction_misuse',
    'A query ran on the database itself while a transaction on it was open in the same flow. Inside db.transaction(async (tx) => …), run every query on tx and pass tx to the functions you call (repository functions take the database or a transaction). On the embedded database this query would have waited for the transaction forever; on PostgreSQL it would have run outside the transaction.',
  )
}
