// Every service's tables, for drizzle-kit (drizzle.config.ts) and for the typed Database.
export * from './database/schema.js'
export * from './kv/schema.js'
export * from './settings/schema.js'
