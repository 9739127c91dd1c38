import autocannon from 'autocannon'

export interface LoadResult {
  rps: number
  /** Requests answered in the run. */
  requests: number
  p50: number
  p99: number
  max: number
  errors: number
  timeouts: number
  non2xx: number
}

export interface LoadOptions {
  method?: 'GET' | 'PUT' | 'POST'
  body?: unknown
  headers?: Record<string, string>
  connections?: number
  seconds: number
}

/** Drives `url` for a bounded time from this process (the server is another one). */
export async function load(url: string, options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url,
    method: options.method ?? 'GET',
    connections: options.connections ?? 16,
    duration: options.seconds,
    timeout: 10,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  })
  return {
    rps: result.duration > 0 ? result.requests.total / result.duration : 0,
    requests: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  }
}
