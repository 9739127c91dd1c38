/**
 * The server's entry point. It only sets up module loading, then loads the server (main.ts): the
 * resolve hook must be in place before the first import of Drizzle is resolved, which for static
 * imports happens before any of this file's code runs.
 */
import { loadDrizzleAsCommonJs } from './core/drizzle-commonjs.js'

loadDrizzleAsCommonJs()
await import('./main.js')
