/**
 * Node flags the server runs with: `npm start`, `npm run start:built`, the image's CMD and the
 * benchmark all pass these (test/deployment/node-flags.test.ts keeps them in step).
 *
 * Node 24's V8 sizes the young generation from the machine's memory, up to tens of MB per
 * semi-space; loading the server's modules alone leaves ~150 MB of young garbage resident. With
 * 8 MB semi-spaces an idle embedded server measured 417 → 304 MB RSS (500 → 369 MB after load)
 * with no measurable loss of req/s on /health and KV reads (bench/README "Performance").
 */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=8'] as const

/**
 * Environment the server runs with, set where it is started: `npm start`, `npm run start:built`
 * and the benchmark put it before `node`, the image sets it with ENV (the same tests keep them in
 * step). It must be in the environment when the process starts: glibc reads it once, before any
 * JavaScript runs, so setting it from the server would do nothing.
 *
 * glibc's malloc raises its mmap threshold each time a block it mapped on its own is freed (up to
 * 32 MB) and its trim threshold to twice that, so after PGlite's start frees its large buffers,
 * tens of MB of freed memory stay in malloc's per-thread arenas for good. Setting the trim
 * threshold to glibc's own default (128 KiB) turns that adjustment off. Measured on an idle
 * embedded server (built, 2 runs each): 244–248 → 188–190 MB RSS, 340 → 240–244 MB after 8 s of
 * load on /ready, req/s unchanged within the noise; through tsx, right after the first embedded
 * setup 306 → 195 MB. Other C libraries (musl, macOS) ignore it.
 */
export const SERVER_ENV = { MALLOC_TRIM_THRESHOLD_: '131072' } as const
