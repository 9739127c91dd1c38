import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { listenFailure } from './listen-failure.js'

/** The error Node's own listen gives, not a made-up one. */
function listenError(port: number, host: string): Promise<NodeJS.ErrnoException> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', resolve)
    server.listen(port, host, () => server.close(() => reject(new Error(`listened on ${host}:${port}`))))
  })
}

describe('listenFailure', () => {
  it('says which variable to change for each way listening fails', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      expect(listenFailure(await listenError(port, '127.0.0.1'), '127.0.0.1', port)).toBe(
        `could not listen on 127.0.0.1:${port}: another process is already listening there (another groundwork?). Stop it, or set PORT to a free port`,
      )
    } finally {
      taken.close()
    }
    // TEST-NET-3: documentation addresses, never assigned to this machine.
    expect(listenFailure(await listenError(0, '203.0.113.7'), '203.0.113.7', 3000)).toMatch(/^could not listen on 203\.0\.113\.7:3000: 203\.0\.113\.7 is not an address of this machine\. Set HOST/)
    expect(listenFailure(await listenError(0, 'no-such-host.invalid'), 'no-such-host.invalid', 3000)).toMatch(/^could not listen on no-such-host\.invalid:3000: the host name no-such-host\.invalid could not be resolved \(E[A-Z_]+\)\. Set HOST/)
    // The tests run as root here, so a port below 1024 opens: the error is the one Node gives a non-root user.
    expect(listenFailure(Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' }), '0.0.0.0', 80)).toContain('Set PORT to 1024 or above')
    expect(listenFailure(new Error('something else'), '0.0.0.0', 3000)).toBe('could not listen on 0.0.0.0:3000 (something else); check HOST and PORT')
  })
})
