/** Why the server could not listen at HOST:PORT, and which variable to change: for the fatal log line at startup. */
export function listenFailure(error: unknown, host: string, port: number): string {
  const code = (error as { code?: unknown } | null)?.code
  const at = `${host}:${port}`
  switch (code) {
    case 'EADDRINUSE':
      return `could not listen on ${at}: another process is already listening there (another groundwork?). Stop it, or set PORT to a free port`
    case 'EACCES':
      return `could not listen on ${at}: this user may not open port ${port} (ports below 1024 need privileges). Set PORT to 1024 or above, and put a reverse proxy in front for port 80 or 443`
    case 'EADDRNOTAVAIL':
      return `could not listen on ${at}: ${host} is not an address of this machine. Set HOST to one of its addresses: 127.0.0.1 (this machine only), 0.0.0.0 (every IPv4 interface, e.g. in a container) or :: (IPv6)`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return `could not listen on ${at}: the host name ${host} could not be resolved (${code}). Set HOST to an address of this machine: 127.0.0.1 (this machine only) or 0.0.0.0 (every IPv4 interface)`
    default:
      return `could not listen on ${at} (${error instanceof Error ? error.message : String(error)}); check HOST and PORT`
  }
}
