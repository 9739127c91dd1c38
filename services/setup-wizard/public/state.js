// What the wizard remembers while it runs. The admin token lives in sessionStorage (this tab only)
// and is forgotten once the setup is done; it never goes into the URL.

const TOKEN_KEY = 'groundwork.setup.adminToken'

export const state = {
  token: readToken(),
  options: null,
  hint: null,
  preflight: null,
  kind: null,
  pollTimer: null,
}

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

export function keepToken(token) {
  state.token = token
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // Storage disabled: the token then lives only in memory, and a reload asks for it again.
  }
}
