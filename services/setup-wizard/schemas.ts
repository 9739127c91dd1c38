import { Type } from 'typebox'
import { DATABASE_TYPES, SSL_MODES } from '../core/config.js'
import { CHECKS } from './preflight.js'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

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

export const SetupOptionsBody = Type.Object({
  kinds: Type.Array(
    Type.Object({
      type: Type.Enum(DATABASE_TYPES),
      title: Type.String(),
      summary: Type.String(),
      available: Type.Boolean(),
      unavailable_reason: Nullable(Type.String()),
    }),
  ),
  postgresql: Type.Intersect([
    PostgresTargetBody,
    Type.Object({
      missing: Type.Array(Type.String(), { description: 'variables to set before PostgreSQL can be chosen' }),
      how_to_set: Nullable(Type.String()),
      example: Nullable(Type.String()),
    }),
  ]),
  pglite_data_dir: Type.String(),
  migrations_total: Type.Integer(),
})

export const PreflightBody = Type.Object({
  ok: Type.Boolean({ description: 'every check passed or only warns' }),
  warnings: Type.Integer(),
  target: PostgresTargetBody,
  checks: Type.Array(
    Type.Object({
      check: Type.Enum(CHECKS),
      title: Type.String(),
      ok: Type.Boolean(),
      status: Type.Union([Type.Literal('passed'), Type.Literal('warning'), Type.Literal('failed'), Type.Literal('skipped')]),
      detail: Type.String(),
      remedy: Nullable(Type.String()),
      duration_ms: Nullable(Type.Integer()),
    }),
  ),
})
