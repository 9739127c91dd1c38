import { describe, expect, it, onTestFinished } from 'vitest'
import { describePostgres } from '../../../test/helpers/app.js'
import { databaseForTest } from '../../../test/helpers/postgres-apps.js'
import { isServiceError } from '../../core/errors.js'
import { jobQueuePart } from './parts.js'
import { checkedBound, createPartitions, readPartitions, type PartitionInfo } from './partitions.js'
import { begin, postgresSession } from './sessions.js'

const partition = (bound: string): PartitionInfo => ({ schema: 's', name: 'p', parent: { schema: 's', name: 't' }, bound })

describe('a partition bound read from a backup', () => {
  it('is taken as PostgreSQL prints it', () => {
    for (const bound of [
      "FOR VALUES FROM ('2026-12-06 00:00:00+00') TO ('2026-12-07 00:00:00+00')",
      'FOR VALUES FROM (MINVALUE, 0) TO (10, MAXVALUE)',
      "FOR VALUES IN ('it''s', NULL, -3.5)",
      'FOR VALUES WITH (modulus 4, remainder 1)',
      'DEFAULT',
    ]) {
      expect(checkedBound(partition(bound))).toBe(bound)
    }
    expect(checkedBound({ ...partition('DEFAULT'), partitionBy: 'LIST (region, "Odd ""name""")' })).toBe('DEFAULT partition by LIST (region, "Odd ""name""")')
  })

  it('is refused, naming the partition, when it holds anything but literals', () => {
    const wrong = ["FOR VALUES IN ('a'); drop table s.t; --')", "FOR VALUES IN ('a') ; select 1", 'FOR VALUES IN (now())', ''].map(partition)
    wrong.push({ ...partition('DEFAULT'), partitionBy: 'RANGE (lower(name))' }, { ...partition('DEFAULT'), partitionBy: 'LIST (a); drop table s.t' })
    for (const bad of wrong) {
      const bound = `${bad.bound} ${bad.partitionBy ?? ''}`
      let thrown: unknown
      try {
        checkedBound(bad)
      } catch (error) {
        thrown = error
      }
      expect(isServiceError(thrown, 'transfer_refused'), bound).toBe(true)
      expect((thrown as Error).message).toContain('s.p')
    }
  })
})

describePostgres('creating the partitions a target lacks', () => {
  it('reads nested partitions parents first, creates the missing ones as their parent\'s owner, and leaves existing ones alone', async () => {
    const database = await databaseForTest()
    const role = `test_owner_${database.name.slice(-12)}`
    await database.query(`create role ${role}`)
    onTestFinished(async () => {
      await database.query(`drop owned by ${role}`)
      await database.query(`drop role ${role}`)
    })
    await database.query(`create schema s;
      create table s.t (day date not null, region text not null) partition by range (day);
      create table s.t_2020 partition of s.t for values from ('2020-01-01') to ('2021-01-01') partition by list (region);
      create table s.t_2020_eu partition of s.t_2020 for values in ('eu');
      create table s.t_2021 partition of s.t for values from ('2021-01-01') to ('2022-01-01');
      alter table s.t owner to ${role}`)
    const session = await postgresSession({ connectionString: database.url }, 'the test database')
    onTestFinished(() => session.close())
    const me = (await database.query<{ me: string }>('select current_user as me'))[0]!.me
    const read = await readPartitions(session, ['s'])
    expect(read.map((p) => `${p.name} of ${p.parent.name}`)).toEqual(['t_2020 of t', 't_2021 of t', 't_2020_eu of t_2020'])

    // The target has the parent and one of the partitions (the one left as the test's user made it).
    await database.query(`drop table s.t_2020`)
    await begin(session, 'write')
    await createPartitions(session, read)
    await session.query('commit')
    expect(await database.query(`select c.relname as name, pg_get_userbyid(c.relowner) as owner, pg_get_expr(c.relpartbound, c.oid) as bound
      from pg_class c where c.relnamespace = 's'::regnamespace and c.relispartition order by 1`)).toEqual([
      { name: 't_2020', owner: role, bound: "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')" },
      { name: 't_2020_eu', owner: role, bound: "FOR VALUES IN ('eu')" },
      { name: 't_2021', owner: me, bound: "FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')" },
    ])
    await database.query(`insert into s.t values ('2020-05-01', 'eu')`)
    expect(await database.query(`select count(*)::int as n from s.t_2020_eu`)).toEqual([{ n: 1 }])
  })
  it('refuses, naming both tables, a partition whose parent the target lacks', async () => {
    const database = await databaseForTest()
    const session = await postgresSession({ connectionString: database.url }, 'the test database')
    onTestFinished(() => session.close())
    await begin(session, 'write')
    const refusal = await createPartitions(session, [partition('DEFAULT')]).catch((error: unknown) => error)
    await session.query('rollback')
    expect(isServiceError(refusal, 'transfer_refused')).toBe(true)
    expect((refusal as Error).message).toContain('The partition s.p belongs to s.t, which the target does not have')
  })
})

describe("pg-boss's days of queue statistics, known by name (backups written before partitions were recorded)", () => {
  it('are bounded by their UTC day, across a year; other names are not partitions', () => {
    expect(jobQueuePart.partitionByName!({ schema: 'pgboss', name: 'queue_stats_20261231' })).toEqual({
      schema: 'pgboss',
      name: 'queue_stats_20261231',
      parent: { schema: 'pgboss', name: 'queue_stats' },
      bound: "FOR VALUES FROM ('2026-12-31 00:00:00+00') TO ('2027-01-01 00:00:00+00')",
    })
    expect(jobQueuePart.partitionByName!({ schema: 'pgboss', name: 'queue_stats_20240228' })?.bound).toBe("FOR VALUES FROM ('2024-02-28 00:00:00+00') TO ('2024-02-29 00:00:00+00')")
    for (const name of ['queue_stats', 'queue_stats_20261340', 'queue_stats_20260230', 'queue_stats_2026120', 'job', 'queue_stats_20261206_old']) {
      expect(jobQueuePart.partitionByName!({ schema: 'pgboss', name }), name).toBeNull()
    }
  })
})
