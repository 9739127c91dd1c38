import type pg from 'pg'
import { roleGrants } from '../plugins/roles.js'
import { pluginRoleName } from '../plugins/definition.js'
import type { CheckOutcome } from './preflight.js'

/**
 * Plugins run as a role each (services/plugins/): the login user must be able to create those
 * roles, or an administrator creates them beforehand. Without that the setup still works, but the
 * plugins are not loaded: a warning, with the SQL to run.
 */
export async function inspectPluginRoles(client: pg.Client, ids: readonly string[]): Promise<CheckOutcome> {
  if (ids.length === 0) return { status: 'passed', detail: 'No plugin is installed: nothing to isolate.', remedy: null }
  const { rows } = await client.query<{ user: string; can_create: boolean; usable: string[] | null }>(
    `select current_user as user,
            (select rolsuper or rolcreaterole from pg_roles where rolname = current_user) as can_create,
            (select array_agg(rolname::text) from pg_roles
              where rolname = any($1::text[])
                and case when current_setting('server_version_num')::int >= 160000 then pg_has_role(current_user, oid, 'SET') else pg_has_role(current_user, oid, 'MEMBER') end) as usable`,
    [ids.map(pluginRoleName)],
  )
  const row = rows[0]
  if (!row) throw new Error('the role query returned no row')
  const list = ids.join(', ')
  if (row.can_create) return { status: 'passed', detail: `User "${row.user}" may create a role for each plugin (${list}), so PostgreSQL keeps their data apart.`, remedy: null }
  const usable = new Set(row.usable ?? [])
  const missing = ids.filter((id) => !usable.has(pluginRoleName(id)))
  if (missing.length === 0) return { status: 'passed', detail: `Every plugin's role exists and user "${row.user}" may act as it (${list}).`, remedy: null }
  return {
    status: 'warning',
    detail: `User "${row.user}" may not create roles, so ${missing.join(', ')} would not be loaded: plugins run only as a role of their own, which keeps their data apart. The rest of the server works.`,
    remedy: `${roleGrants(row.user, missing)} No restart is needed before the setup; restart the server afterwards if it already runs.`,
  }
}
