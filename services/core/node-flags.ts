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
