import type { Session } from './sessions.js'
import { transferError } from './errors.js'

export interface Column {
  name: string
  /** format_type(): what a literal of this column is cast to. */
  type: string
}

export interface TableInfo {
  schema: string
  name: string
  /** Stored columns in their order; generated columns are left out (the target computes them). */
  columns: Column[]
  /** Primary key columns in key order; empty when the table has none (copied in one chunk). */
  key: string[]
}

export interface SequenceInfo {
  schema: string
  name: string
  /** "schema.table" of the serial or identity column that owns it; null for a free-standing one. */
  owner: string | null
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

export function qualified(table: { schema: string; name: string }): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`
}

/** A string literal with standard_conforming_strings on (the default since 9.1, and PGlite's). */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** The ordinary tables of `schemas`, in an order where every table comes after the tables it references. */
export async function readTables(session: Session, schemas: string[]): Promise<TableInfo[]> {
  const tables = await session.query<{ schema: string; name: string; columns: Column[] | string; key: string[] | string | null }>(
    `select n.nspname as schema, c.relname as name,
       (select json_agg(json_build_object('name', a.attname, 'type', format_type(a.atttypid, a.atttypmod)) order by a.attnum)
          from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attgenerated = '') as columns,
       (select json_agg(a.attname order by array_position(i.indkey::int2[], a.attnum))
          from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey::int2[])
          where i.indrelid = c.oid and i.indisprimary) as key
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'r' and n.nspname = any($1::text[])
     order by n.nspname, c.relname`,
    [schemas],
  )
  const references = await session.query<{ from_schema: string; from_name: string; to_schema: string; to_name: string }>(
    `select fn.nspname as from_schema, fc.relname as from_name, tn.nspname as to_schema, tc.relname as to_name
     from pg_constraint k
       join pg_class fc on fc.oid = k.conrelid join pg_namespace fn on fn.oid = fc.relnamespace
       join pg_class tc on tc.oid = k.confrelid join pg_namespace tn on tn.oid = tc.relnamespace
     where k.contype = 'f' and k.conrelid <> k.confrelid and fn.nspname = any($1::text[])`,
    [schemas],
  )
  const infos = tables.map((row) => ({
    schema: row.schema,
    name: row.name,
    columns: parseJson<Column[]>(row.columns) ?? [],
    key: parseJson<string[]>(row.key) ?? [],
  }))
  const edges = references.map((r) => ({ from: `${r.from_schema}.${r.from_name}`, to: `${r.to_schema}.${r.to_name}` }))
  return dependencyOrder(infos, edges)
}

/** Sequences (serial and identity columns' too) of `schemas`. */
export async function readSequences(session: Session, schemas: string[]): Promise<SequenceInfo[]> {
  return session.query<SequenceInfo>(
    `select n.nspname as schema, c.relname as name,
       (select tn.nspname || '.' || t.relname from pg_depend d join pg_class t on t.oid = d.refobjid join pg_namespace tn on tn.oid = t.relnamespace
        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.refclassid = 'pg_class'::regclass and d.deptype in ('a', 'i') limit 1) as owner
     from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where c.relkind = 'S' and n.nspname = any($1::text[]) order by 1, 2`,
    [schemas],
  )
}

export function dependencyOrder(tables: TableInfo[], edges: { from: string; to: string }[]): TableInfo[] {
  const byName = new Map(tables.map((t) => [`${t.schema}.${t.name}`, t]))
  const ordered: TableInfo[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const visit = (name: string, path: string[]) => {
    if (state.get(name) === 'done') return
    if (state.get(name) === 'visiting') {
      throw transferError(
        'transfer_refused',
        `The tables ${[...path.slice(path.indexOf(name)), name].join(' → ')} reference each other in a cycle, so no copy order satisfies their foreign keys. This transfer cannot copy them; report it with the names of those tables.`,
      )
    }
    state.set(name, 'visiting')
    for (const edge of edges) if (edge.from === name && byName.has(edge.to)) visit(edge.to, [...path, name])
    state.set(name, 'done')
    const table = byName.get(name)
    if (table) ordered.push(table)
  }
  for (const name of byName.keys()) visit(name, [])
  return ordered
}

function parseJson<T>(value: T | string | null): T | null {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value
}
