import { defineConfig } from 'drizzle-kit'

// Generation only compares the schema with the snapshots in drizzle/meta; it needs no database.
export default defineConfig({
  dialect: 'postgresql',
  schema: './services/schema.ts',
  out: './drizzle',
})
