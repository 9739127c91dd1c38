import type { Readable } from 'node:stream'
import { Type, type Static } from 'typebox'
import { DATABASE_TYPES } from '../core/config.js'
import { Nullable, StringEnum } from '../core/http/schemas.js'
import { SERVICE_STATES } from '../core/lifecycle.js'
import { PluginStatusBody } from '../plugins/schemas.js'

export const PHASES = ['unconfigured', 'connecting', 'ready', 'failed', 'invalid_selection', 'closed'] as const

export const MigrationStateBody = Type.Object({
  total: Type.Integer(),
  applied: Type.Integer(),
  pending: Type.Array(Type.String()),
  unknown: Type.Integer(),
  changed: Type.Array(Type.String()),
})

export const ReplicaStatusBody = Type.Object({
  url: Type.String({ description: 'the POSTGRES_READ_URLS entry, its password masked' }),
  state: StringEnum(['up', 'down']),
  lag_seconds: Nullable(Type.Number(), { description: 'how far behind the primary it was at the last check; null when down or not a standby' }),
  error: Nullable(Type.String(), { description: 'why it is down' }),
  since: Type.String({ description: 'when the state last changed' }),
})

export const DatabaseStatusBody = Type.Object({
  configured: Type.Boolean(),
  initialized: Type.Boolean(),
  dialect: Nullable(StringEnum(['postgresql'])),
  type: Nullable(StringEnum(DATABASE_TYPES)),
  source: Nullable(StringEnum(['file', 'environment'])),
  phase: StringEnum(PHASES),
  selected_at: Nullable(Type.String()),
  setup_in_progress: Type.Boolean(),
  migrations: Nullable(MigrationStateBody),
  last_error: Nullable(
    Type.Object({
      code: Type.String(),
      message: Type.String(),
      at: Type.String({ description: 'when the problem was last seen' }),
      since: Type.String({ description: 'when the database stopped being usable' }),
    }),
  ),
  services: Type.Array(
    Type.Object({
      name: Type.String(),
      state: StringEnum(SERVICE_STATES),
      ok: Type.Boolean(),
      error: Nullable(Type.String()),
      problems: Type.Array(Type.String()),
    }),
  ),
  plugins: Type.Array(PluginStatusBody, { description: 'installed plugins, and schemas left by removed ones (orphaned)' }),
  replicas: Type.Array(ReplicaStatusBody, {
    description: 'the read replicas (POSTGRES_READ_URLS) once the database is open; a replica that is down is skipped, never fatal',
  }),
})

export const SetupRequest = Type.Object({ type: Type.Enum(DATABASE_TYPES) }, { additionalProperties: false })

export const SetupResponse = Type.Object({
  message: Type.String(),
  restart_required: Type.Boolean(),
  database_type: StringEnum(DATABASE_TYPES),
  migrations_applied: Type.Array(Type.String()),
})

// The types the service returns are the schemas' own: one definition, not two.
export type Phase = (typeof PHASES)[number]
export type DatabaseStatus = Static<typeof DatabaseStatusBody>
export type ReplicaStatus = Static<typeof ReplicaStatusBody>
export type SetupResult = Static<typeof SetupResponse>

/** The response header of GET /api/db/backup with the row counts of the copy, as JSON [{table, rows}]. */
export const BACKUP_COUNTS_HEADER = 'x-groundwork-row-counts'

/**
 * The request header of GET /api/db/backup naming the database wanted: the token of its PGlite lock
 * file (pglite.lock). A server that does not hold that lock answers backup_wrong_database.
 */
export const BACKUP_LOCK_HEADER = 'x-groundwork-lock'

/** Sent as a stream; the document says what the bytes are. */
export const BackupArchive = Type.Unsafe<Readable>({ type: 'string', format: 'binary', description: 'the data folder as a gzipped tar, in the layout of PGlite dumpDataDir' })
