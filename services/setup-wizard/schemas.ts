import { Type, type Static } from 'typebox'
import { DATABASE_TYPES, SSL_MODES } from '../core/config.js'
import { Nullable } from '../core/http/schemas.js'
import { CHECKS } from './preflight.js'

export const PostgresTargetBody = Type.Object({
  source: Type.Union([Type.Literal('DATABASE_URL'), Type.Literal('POSTGRES_*')], { description: 'where the settings were read from' }),
  host: Nullable(Type.String()),
  port: Type.Integer(),
  database: Nullable(Type.String()),
  user: Nullable(Type.String()),
  ssl: Type.Enum(SSL_MODES),
  passwordSet: Type.Boolean({ description: 'whether a password is set; the password itself is never returned' }),
})

export const TokenHintBody = Type.Object({
  source: Type.Union([Type.Literal('environment'), Type.Literal('file')]),
  where: Type.String({ description: 'the variable or the file that holds the token (never the token)' }),
  command: Nullable(Type.String({ description: 'a command that prints the token on the server' })),
})

export const DatabaseKindBody = Type.Object({
  type: Type.Enum(DATABASE_TYPES),
  title: Type.String(),
  summary: Type.String(),
  available: Type.Boolean(),
  unavailable_reason: Nullable(Type.String({ description: 'why it cannot be chosen yet, and what to do; null when available' })),
})

export const DetectedPostgresBody = Type.Intersect([
  PostgresTargetBody,
  Type.Object({
    missing: Type.Array(Type.String(), { description: 'variables to set before PostgreSQL can be chosen' }),
    how_to_set: Nullable(Type.String({ description: 'how to set what is missing; null when nothing is' })),
    example: Nullable(Type.String({ description: "lines for the server's environment: the values already set, placeholders for the rest, never the password" })),
  }),
])

export const SetupOptionsBody = Type.Object({
  kinds: Type.Array(DatabaseKindBody),
  postgresql: DetectedPostgresBody,
  pglite_data_dir: Type.String({ description: 'where the embedded database would live' }),
  migrations_total: Type.Integer(),
})

export const PreflightCheckBody = Type.Object({
  check: Type.Enum(CHECKS),
  title: Type.String(),
  ok: Type.Boolean({ description: 'true when the check passed or only warns; a failed or skipped check is not ok' }),
  status: Type.Union([Type.Literal('passed'), Type.Literal('warning'), Type.Literal('failed'), Type.Literal('skipped')]),
  detail: Type.String(),
  remedy: Nullable(Type.String({ description: 'what to do about a failure or a warning; null when there is nothing to do' })),
  duration_ms: Nullable(Type.Integer()),
})

export const PreflightBody = Type.Object({
  ok: Type.Boolean({ description: 'every check passed or only warns: setting up this database should work' }),
  warnings: Type.Integer(),
  target: PostgresTargetBody,
  checks: Type.Array(PreflightCheckBody),
})

// The types the code works with are the schemas' own: one definition, not two.
export type DatabaseKind = Static<typeof DatabaseKindBody>
export type DetectedPostgres = Static<typeof DetectedPostgresBody>
export type SetupOptions = Static<typeof SetupOptionsBody>
export type TokenHint = Static<typeof TokenHintBody>
export type PreflightCheck = Static<typeof PreflightCheckBody>
export type PreflightReport = Static<typeof PreflightBody>
