import { defineConfig } from 'drizzle-kit'

// Generation only compares the schema with the snapshots in drizzle/meta; it needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './services/schema.ts',
  out: './drizzle',
  // Our tables live in public; pg-boss owns the pgboss schema (services/jobs) and migrates it itself:
  // push, pull and studio must never diff or drop it.
  schemaFilter: ['public'],
})
