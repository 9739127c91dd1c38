import { sql } from 'drizzle-orm'
import type { Executor } from '../database/connection.js'
import { rowsOf } from '../database/results.js'
import { pluginRoleName, pluginSchemaName } from './definition.js'

/** Whether the login user can give plugins roles of their own; when not, what an administrator must run. */
export interface RoleCapability {
  ok: boolean
  user: string
  /** Why plugins cannot run isolated, with the SQL that fixes it; null when they can. */
  problem: string | null
  /** The plugins whose role the user can neither create nor take. */
  missing: string[]
}

/**
 * Plugins run only isolated: as their own role. The login user needs CREATEROLE (or superuser) to
 * create those roles, or an administrator creates them beforehand and grants them to it.
 */
export async function checkRoleCapability(db: Executor, ids: string[]): Promise<RoleCapability> {
  const [row] = rowsOf<{ user: string; can_create: boolean }>(
    await db.execute(sql`select current_user as user, (rolsuper or rolcreaterole) as can_create from pg_roles where rolname = current_user`),
  )
  const user = row?.user ?? 'the login user'
  if (row?.can_create) return { ok: true, user, problem: null, missing: [] }
  const wanted = new Set(ids.map(pluginRoleName))
  const usable = new Set(
    rowsOf<{ rolname: string }>(
      await db.execute(sql`
        select rolname from pg_roles
         where rolname like 'groundwork\_plugin\_%'
           and case when current_setting('server_version_num')::int >= 160000 then pg_has_role(current_user, oid, 'SET') else pg_has_role(current_user, oid, 'MEMBER') end`),
    )
      .map((role) => role.rolname)
      .filter((name) => wanted.has(name)),
  )
  const missing = ids.filter((id) => !usable.has(pluginRoleName(id)))
  if (missing.length === 0) return { ok: true, user, problem: null, missing }
  return { ok: false, user, problem: capabilityProblem(user, missing), missing }
}

export function capabilityProblem(user: string, ids: string[]): string {
  return `Plugins run as their own PostgreSQL role so the database keeps their data apart, and user "${user}" may not create roles: ${ids.join(', ')} ${ids.length === 1 ? 'was' : 'were'} not loaded (the rest of the server works). ${roleGrants(user, ids)} Then restart the server.`
}

/** What a superuser runs so that `user` can run these plugins isolated. */
export function roleGrants(user: string, ids: string[]): string {
  const perPlugin = ids.map((id) => `CREATE ROLE ${pluginRoleName(id)} NOLOGIN; GRANT ${pluginRoleName(id)} TO "${user}";`).join(' ')
  return `As a superuser, either run ALTER ROLE "${user}" CREATEROLE; or create each plugin's role and grant it: ${perPlugin}`
}

/**
 * Creates the plugin's role (if missing), lets the login user act as it, gives it its schema, and
 * switches the transaction to it: from here on the transaction can touch the plugin's schema only.
 * Runs under the migration lock; SET LOCAL ends with the transaction.
 */
export async function enterPluginRole(tx: Executor, id: string): Promise<void> {
  const role = pluginRoleName(id)
  // Roles are shared by every database of a PostgreSQL server: another database may create it at the same moment.
  await tx.execute(
    sql.raw(`do $$ begin
      if not exists (select from pg_roles where rolname = '${role}') then
        begin
          create role ${role} nologin;
        exception when duplicate_object or unique_violation then null;
        end;
      end if;
      -- Since PostgreSQL 16 a role's creator is a member without the right to SET ROLE to it.
      if current_setting('server_version_num')::int >= 160000 then
        if not pg_has_role(current_user, '${role}', 'SET') then
          execute format('grant ${role} to %I with set true', current_user);
        end if;
      elsif not pg_has_role(current_user, '${role}', 'MEMBER') then
        execute format('grant ${role} to %I', current_user);
      end if;
    end $$`),
  )
  await tx.execute(sql.raw(`create schema if not exists ${pluginSchemaName(id)} authorization ${role}`))
  await tx.execute(sql.raw(`set local role ${role}`))
}

/** Schemas that look like a plugin's (`plugin_<id>`), with their tables: the loaded ones and the ones left behind. */
export async function pluginSchemas(db: Executor): Promise<{ id: string; tables: string[] }[]> {
  const rows = rowsOf<{ schema: string; tables: string[] | null }>(
    await db.execute(sql`
      select n.nspname as schema,
             array_remove(array_agg(c.relname::text order by c.relname), null) as tables
        from pg_namespace n
        left join pg_class c on c.relnamespace = n.oid and c.relkind in ('r', 'p') and c.relname <> '__drizzle_migrations'
       where n.nspname like 'plugin\\_%'
       group by n.nspname
       order by n.nspname`),
  )
  return rows.map((row) => ({ id: row.schema.slice('plugin_'.length), tables: row.tables ?? [] }))
}
