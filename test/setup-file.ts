import { afterAll } from 'vitest'
import { removeTempDirs } from './helpers/app.js'

// Runs after each test file's own afterAll hooks (they run in reverse order), once its apps and
// processes have stopped: no temp folder outlives the file that made it.
afterAll(() => removeTempDirs())
