import { qualified, quoteIdent, quoteLiteral } from './catalog.js'
import { transferError } from './errors.js'
import type { Session } from './sessions.js'

/**
 * A partition of a partitioned table. Its parent is created on the target by its part (pg-boss's
 * installation script, a plugin's migrations), but partitions come and go with the data: pg-boss
 * creates queue_stats_YYYYMMDD for today and tomorrow only, so a database that ran for a while
 * holds days a freshly created target lacks. They are created from the source's own bounds.
 */
export interface PartitionInfo {
  schema: string
  name: string
  parent: { schema: string; name: string }
  /** pg_get_expr(relpartbound) as the source prints it under CANONICAL_SETTINGS: "FOR VALUES FROM (…) TO (…)". */
  bound: string
  /** pg_get_partkeydef, "LIST (region)", when the partition is partitioned itself; absent for a leaf. */
  partitionBy?: string
}

/** Partitions (leaf and partitioned ones) of `schemas`, every one after its parent. */
export async function readPartitions(session: Session, schemas: string[]): Promise<PartitionInfo[]> {
  const rows = await session.query<{ schema: string; name: string; parent_schema: string; parent_name: string; bound: string; key: string | null; depth: number }>(
    `with recursive part as (
       select c.oid, i.inhparent as parent, 1 as depth
       from pg_class c join pg_inherits i on i.inhrelid = c.oid
       -- Tables only: the indexes of a partitioned table have partitions too, which CREATE TABLE … PARTITION OF makes.
       where c.relispartition and c.relkind in ('r', 'p')
       union all
       select part.oid, i.inhparent, part.depth + 1
       from part join pg_class p on p.oid = part.parent join pg_inherits i on i.inhrelid = p.oid
       where p.relispartition
     )
     select n.nspname as schema, c.relname as name, pn.nspname as parent_schema, p.relname as parent_name,
       pg_get_expr(c.relpartbound, c.oid) as bound, case when c.relkind = 'p' then pg_get_partkeydef(c.oid) end as key,
       max(part.depth)::int as depth
     from part
       join pg_class c on c.oid = part.oid join pg_namespace n on n.oid = c.relnamespace
       join pg_inherits i on i.inhrelid = c.oid join pg_class p on p.oid = i.inhparent join pg_namespace pn on pn.oid = p.relnamespace
     where n.nspname = any($1::text[])
     group by 1, 2, 3, 4, 5, 6
     order by depth, 1, 2`,
    [schemas],
  )
  return rows.map((row) => ({
    schema: row.schema,
    name: row.name,
    parent: { schema: row.parent_schema, name: row.parent_name },
    bound: row.bound,
    ...(row.key === null ? {} : { partitionBy: row.key }),
  }))
}

// What pg_get_expr prints for a partition bound: DEFAULT, or FOR VALUES with literals only; and
// for a partitioned partition's key, plain columns (an expression key is refused). A backup file
// is read back from disk, so anything else is refused rather than run as SQL.
const LITERAL = String.raw`(?:'(?:[^']|'')*'|-?\d+(?:\.\d+)?|MINVALUE|MAXVALUE|NULL|true|false)`
const LIST = String.raw`\(${LITERAL}(?:, ${LITERAL})*\)`
const BOUND = new RegExp(String.raw`^(?:DEFAULT|FOR VALUES (?:FROM ${LIST} TO ${LIST}|IN ${LIST}|WITH \(modulus \d+, remainder \d+\)))$`)
const COLUMN = String.raw`(?:[a-z_][a-z0-9_$]*|"(?:[^"]|"")+")`
const KEY = new RegExp(String.raw`^(?:RANGE|LIST|HASH) \(${COLUMN}(?:, ${COLUMN})*\)$`)

/** What follows "PARTITION OF parent": the bound, then the partition's own key when it is partitioned itself. */
export function checkedBound(partition: PartitionInfo): string {
  const key = partition.partitionBy
  if (!BOUND.test(partition.bound) || (key !== undefined && !KEY.test(key))) {
    throw transferError(
      'transfer_refused',
      `The partition ${partition.schema}.${partition.name} has a bound or key this transfer does not read (${JSON.stringify(`${partition.bound} ${key ?? ''}`.trim().slice(0, 200))}), so it was not created. Nothing was changed; report it with the table's name.`,
    )
  }
  return key === undefined ? partition.bound : `${partition.bound} partition by ${key}`
}

/**
 * Creates on the target, inside the caller's transaction, each partition it lacks, owned by the
 * role that owns its parent there (a plugin's tables stay its role's). Run after the parts have
 * created their tables and before any row is copied. Partitions the target has are left alone.
 */
export async function createPartitions(target: Session, partitions: PartitionInfo[]): Promise<void> {
  for (const partition of partitions) {
    const bound = checkedBound(partition)
    const [found] = await target.query<{ present: boolean; parent_owner: string | null; me: string }>(
      `select to_regclass(${quoteLiteral(qualified(partition))}) is not null as present,
         (select pg_get_userbyid(relowner) from pg_class where oid = to_regclass(${quoteLiteral(qualified(partition.parent))})) as parent_owner,
         current_user as me`,
    )
    if (found!.present) continue
    if (found!.parent_owner === null) {
      throw transferError(
        'transfer_refused',
        `The partition ${partition.schema}.${partition.name} belongs to ${partition.parent.schema}.${partition.parent.name}, which the target does not have after its tables were created. Nothing was changed; report it with both names.`,
      )
    }
    try {
      await target.query(`create table ${qualified(partition)} partition of ${qualified(partition.parent)} ${bound}`)
      if (found!.parent_owner !== found!.me) await target.query(`alter table ${qualified(partition)} owner to ${quoteIdent(found!.parent_owner)}`)
    } catch (error) {
      // The caller's transaction rolls back on this error, the partitions created before it too.
      throw transferError(
        'transfer_refused',
        `The target database (${target.kind}, ${target.description}) could not get the partition ${partition.schema}.${partition.name} of ${partition.parent.schema}.${partition.parent.name} (${bound}): ${(error as Error).message}. Nothing was changed.`,
        { cause: error },
      )
    }
  }
}
