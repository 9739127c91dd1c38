import { defineConfig } from 'drizzle-kit'

// Generation only compares the schema with the snapshots in ./drizzle/meta; it needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './plugins/notes/schema.ts',
  out: './plugins/notes/drizzle',
  schemaFilter: ['plugin_notes'],
  migrations: { schema: 'plugin_notes', table: '__drizzle_migrations' },
})
