# syntax=docker/dockerfile:1

# node:24-bookworm-slim: the Node the project pins (package.json's `node` devDependency, the one
# `npm test` runs on). Slim rather than alpine: Node's musl builds are an "experimental" platform
# while glibc Linux is tier 1, and the tests and CI run on Debian, so the image runs on the libc
# they prove. PGlite (WASM) and pg (pure JS) would run on alpine too; slim costs ~30 MB more.

# Build stage: the dependencies tsc needs (not the optional ones: the tests' 60 MB of PostgreSQL
# binaries among them), compile TypeScript to dist/.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=optional
COPY tsconfig.json tsconfig.build.json ./
COPY services ./services
RUN npm run build

# Runtime stage: production dependencies, the compiled code and the migrations.
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
# glibc's malloc with fixed thresholds: ~55 MB less resident (services/core/node-flags.ts).
ENV MALLOC_TRIM_THRESHOLD_=131072
WORKDIR /app
COPY package.json package-lock.json ./
# --omit=optional: the only optional dependencies are other platforms' binaries, pg's Cloudflare
# socket and the PostgreSQL 18 server binaries the tests use, none of which the image runs.
RUN npm ci --omit=dev --omit=optional && npm cache clean --force
COPY --from=build /app/dist ./dist
# The app refuses to start its database without these (code migrations_missing): they must ship.
COPY drizzle ./drizzle
# tsc does not copy the setup page's static files; the wizard looks for them here too.
COPY services/setup-wizard/public ./services/setup-wizard/public
# The code stays root-owned (read-only to the app); only the data folder belongs to node.
# A new named volume takes this folder's owner when first mounted.
RUN mkdir -p /app/persistent_data && chown node:node /app/persistent_data
USER node
VOLUME /app/persistent_data
EXPOSE 3000
# Liveness only: a restart cannot fix an unreachable database, and the app retries it itself.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/health', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Exec form: node is PID 1 and receives SIGTERM itself, so the graceful shutdown runs.
# The flag is services/core/node-flags.ts's: smaller young generation, ~100 MB less resident.
CMD ["node", "--max-semi-space-size=8", "dist/services/server.js"]
