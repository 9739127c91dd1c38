import { qualified, quoteIdent, quoteLiteral, type TableInfo } from './catalog.js'
import type { Session } from './sessions.js'

export interface Chunk {
  data: Buffer
  rows: number
}

const NEWLINE = 0x0a

/**
 * A table's rows as COPY text, in chunks of at most `chunkRows` rows taken by primary-key
 * ranges, so memory stays bounded whatever the table's size. A table without a primary key
 * comes in one chunk.
 */
export async function* readChunks(session: Session, table: TableInfo, chunkRows: number): AsyncGenerator<Chunk> {
  const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ')
  const from = `select ${columns} from ${qualified(table)}`
  if (table.key.length === 0) {
    const data = await session.copyOut(from)
    yield { data, rows: countRows(data) }
    return
  }
  const key = `(${table.key.map(quoteIdent).join(', ')})`
  const types = new Map(table.columns.map((c) => [c.name, c.type]))
  const literal = (values: string[]) => `(${values.map((v, i) => `${quoteLiteral(v)}::${types.get(table.key[i]!)}`).join(', ')})`
  let after: string[] | null = null
  for (;;) {
    const lower: string = after ? `where ${key} > ${literal(after)}` : ''
    const [boundary]: (Record<string, string> | undefined)[] = await session.query<Record<string, string>>(
      `select ${table.key.map((k, i) => `${quoteIdent(k)}::text as k${i}`).join(', ')} from ${qualified(table)} ${lower} order by ${key} offset ${chunkRows - 1} limit 1`,
    )
    const upper: string[] | null = boundary ? table.key.map((_, i) => boundary[`k${i}`]!) : null
    const range = [after && `${key} > ${literal(after)}`, upper && `${key} <= ${literal(upper)}`].filter(Boolean)
    const data = await session.copyOut(`${from}${range.length ? ` where ${range.join(' and ')}` : ''} order by ${key}`)
    const rows = countRows(data)
    if (rows > 0) yield { data, rows }
    if (!upper) return
    after = upper
  }
}

/** COPY text ends every row with a newline and escapes the newlines inside values. */
export function countRows(data: Buffer): number {
  let rows = 0
  for (let index = data.indexOf(NEWLINE); index !== -1; index = data.indexOf(NEWLINE, index + 1)) rows++
  return rows
}
