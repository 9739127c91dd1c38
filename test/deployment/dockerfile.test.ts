import { describe, expect, it } from 'vitest'
import { findProjectRoot } from '../../services/core/project-root.js'
import { all, copies, dockerIgnores, env, execForm, healthcheckCommand, readDockerfile, readDockerignore, runtimeStage } from './dockerfile.js'
import { pinnedNode } from './node-runtime.js'
import { SERVER_ENV, SERVER_NODE_FLAGS } from '../../services/core/node-flags.js'

const PROJECT_ROOT = findProjectRoot()

// What can be read from the Dockerfile without building it. Whether the laid-out runtime stage
// actually runs is proven in built-image.test.ts.

const stages = readDockerfile(PROJECT_ROOT)
const runtime = runtimeStage(stages)

describe('the Dockerfile', () => {
  it('builds in one stage and runs from a small official node:24 image in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2)
    expect(runtime.image).toMatch(/^node:24(\.\d+)*-bookworm-slim$/)
    expect(all(runtime, 'RUN')).toContainEqual(expect.stringMatching(/npm ci --omit=dev --omit=optional/))
    const build = stages.find((stage) => copies(runtime).some((copy) => copy.from === stage.name))
    expect(all(build!, 'RUN')).toEqual(expect.arrayContaining([expect.stringMatching(/^npm ci\b/), expect.stringMatching(/^npm run build\b/)]))
  })

  it('builds and runs on the Node major the tests run on (the one package-lock.json pins)', () => {
    for (const stage of stages) expect(stage.image, stage.name ?? stage.image).toMatch(new RegExp(`^node:${pinnedNode().major}(\\.\\d+)*-`))
  })

  it('runs as a non-root user in the final stage', () => {
    const user = all(runtime, 'USER').at(-1)
    expect(user).toBeDefined()
    expect(user!.split(':')[0]).not.toMatch(/^(root|0)$/)
  })

  it('ships the migrations next to package.json', () => {
    expect(copies(runtime)).toContainEqual({ from: null, sources: ['drizzle'], destination: './drizzle' })
    expect(dockerIgnores(readDockerignore(PROJECT_ROOT), 'drizzle/meta/_journal.json')).toBe(false)
  })

  it('listens on every interface of the container and checks its health with node itself', () => {
    expect(env(runtime)).toMatchObject({ NODE_ENV: 'production', HOST: '0.0.0.0', PORT: '3000' })
    expect(all(runtime, 'EXPOSE')).toEqual(['3000'])
    expect(healthcheckCommand(runtime)?.[0]).toBe('node')
  })

  it('starts node directly (exec form), so SIGTERM reaches the graceful shutdown', () => {
    expect(execForm(all(runtime, 'CMD').at(-1) ?? '')).toEqual(['node', ...SERVER_NODE_FLAGS, 'dist/services/server.js'])
  })

  it('runs the server with its environment (malloc settings), as npm start does', () => {
    expect(env(runtime)).toMatchObject(SERVER_ENV)
  })

  it('keeps local artefacts and secrets out of the build context', () => {
    const ignore = readDockerignore(PROJECT_ROOT)
    for (const path of ['node_modules/fastify/package.json', 'dist/services/server.js', 'persistent_data/pglite/PG_VERSION', '.git/HEAD', '.env', 'test-results/x']) {
      expect(dockerIgnores(ignore, path), path).toBe(true)
    }
    for (const path of ['package.json', 'package-lock.json', 'services/server.ts', 'tsconfig.build.json', 'drizzle/0000_database_instance.sql']) {
      expect(dockerIgnores(ignore, path), path).toBe(false)
    }
  })
})
