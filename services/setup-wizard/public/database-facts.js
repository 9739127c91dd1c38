// How the two kinds of database are named and described on every view that mentions them.

export const KIND_LABEL = { pglite: 'Embedded (PGlite)', postgresql: 'PostgreSQL' }

/** The PostgreSQL settings the server found in its environment, the password only as set or not. */
export function targetFacts(pg) {
  return [
    ['Read from', pg.source === 'DATABASE_URL' ? 'DATABASE_URL' : 'POSTGRES_* variables'],
    ['Host', pg.host ?? 'not set'],
    ['Port', String(pg.port)],
    ['Database', pg.database ?? 'not set'],
    ['User', pg.user ?? 'not set'],
    ['Password', pg.passwordSet ? 'set' : 'not set'],
    ['SSL mode', pg.ssl],
  ]
}
