import { Offline, api, problemText } from './api.js'
import { requestedStep } from './address.js'
import { keepToken, state } from './state.js'
import { show } from './views.js'
import { showBusy } from './status/busy.js'
import { showConfigured } from './status/configured.js'
import { showOffline } from './status/offline.js'
import { showChoose } from './steps/choose.js'
import { showEmbedded } from './steps/embedded.js'
import { showPostgresql } from './steps/postgresql.js'
import { showUnlock } from './steps/unlock.js'

/** Asks the server where the setup stands and opens the view for it: on load, reload, back and retry. */
export async function start() {
  show('loading', { focus: false })
  try {
    const status = await api('GET', '/api/db/status')
    if (!status.ok) throw new Offline(problemText(status))
    await route(status.data)
  } catch (error) {
    if (error instanceof Offline) showOffline(error.message)
    else throw error
  }
}

async function route(status) {
  if (status.configured) return showConfigured(status)
  if (status.setup_in_progress) return showBusy()
  if (!state.token) return showUnlock()
  const unlocked = await loadOptions()
  if (!unlocked) return
  const wanted = requestedStep()
  if (wanted === 'embedded') return showEmbedded(false)
  if (wanted === 'postgresql' && state.options.postgresql.missing.length === 0) return showPostgresql(false)
  return showChoose(false)
}

/** Fetches the options with the saved token; on a rejected token, goes back to the unlock step. */
async function loadOptions() {
  const res = await api('GET', '/api/setup/options', { auth: true })
  if (res.ok) {
    state.options = res.data
    return true
  }
  if (res.status === 401) {
    keepToken(null)
    await showUnlock('The saved admin token is no longer accepted (the server may have been given a new one). Enter the current token.')
    return false
  }
  await showUnlock(problemText(res))
  return false
}
