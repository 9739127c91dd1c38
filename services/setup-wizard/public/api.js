import { state } from './state.js'

/** The server did not answer at all (as opposed to answering with an error). */
export class Offline extends Error {}

export async function api(method, path, { auth = false, body } = {}) {
  const headers = { accept: 'application/json' }
  if (auth) headers.authorization = `Bearer ${state.token}`
  if (body !== undefined) headers['content-type'] = 'application/json'
  let response
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' })
  } catch {
    throw new Offline(`No answer from ${location.host} (${method} ${path}).`)
  }
  let data = null
  try {
    data = await response.json()
  } catch {
    data = null
  }
  return { ok: response.ok, status: response.status, data }
}

export function problemText(res) {
  if (res.data && typeof res.data.message === 'string') return res.data.message
  return `The server answered ${res.status} without an explanation. Its log has the details.`
}
