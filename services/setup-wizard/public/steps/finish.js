import { navigate } from '../address.js'
import { Offline, api, problemText } from '../api.js'
import { KIND_LABEL } from '../database-facts.js'
import { $, fillFacts } from '../dom.js'
import { start } from '../router.js'
import { keepToken, state } from '../state.js'
import { markSteps, show } from '../views.js'
import { showBusy } from '../status/busy.js'
import { showEmbedded } from './embedded.js'
import { showPostgresql } from './postgresql.js'
import { showUnlock } from './unlock.js'

/** Step 4: runs the setup, then shows what it did, or why it failed with a way to retry or go back. */
export async function setUp(type) {
  show('finish', { focus: false })
  $('finish-title').textContent = 'Setting up…'
  $('finish-progress').hidden = false
  $('finish-success').hidden = true
  $('finish-error').hidden = true
  $('finish-progress-text').textContent =
    type === 'pglite'
      ? 'Creating the embedded database and applying the migrations. This takes a few seconds; keep this page open.'
      : 'Connecting to PostgreSQL and applying the migrations. Keep this page open.'
  $('finish-title').focus()
  let res
  try {
    res = await api('POST', '/api/db/setup', { auth: true, body: { type } })
  } catch (failure) {
    if (!(failure instanceof Offline)) throw failure
    return showSetupError(type, 'The connection to the server was lost', `${failure.message} The setup may have finished anyway: reload this page to see the server's status.`, null)
  }
  if (res.ok) return showSuccess(res.data)
  const code = res.data && res.data.error
  if (res.status === 401) {
    keepToken(null)
    return showUnlock('The admin token is no longer accepted. Enter the current token, then set up again.')
  }
  if (code === 'already_configured') return start()
  if (code === 'setup_in_progress') return showBusy()
  return showSetupError(type, 'The setup failed', problemText(res), code)
}

function showSuccess(result) {
  keepToken(null)
  $('finish-progress').hidden = true
  $('finish-success').hidden = false
  $('finish-title').textContent = 'Set up complete'
  document.title = 'Set up complete · groundwork'
  markSteps('finish', true)
  $('finish-message').textContent = result.restart_required ? 'The database is set up, but not every service is running yet.' : result.message
  const applied = result.migrations_applied
  fillFacts($('finish-facts'), [
    ['Database', KIND_LABEL[result.database_type]],
    ['Location', result.database_type === 'pglite' ? state.options.pglite_data_dir : postgresqlAddress(state.options.postgresql)],
    ['Migrations applied', applied.length ? `${applied.length} (${applied.join(', ')})` : 'none needed: it was already up to date'],
    ['Restart needed', result.restart_required ? 'yes' : 'no'],
  ])
  $('finish-restart').hidden = !result.restart_required
  $('finish-restart-text').textContent = result.restart_required ? result.message : ''
  navigate('finish', false)
  $('finish-title').focus()
}

function postgresqlAddress(pg) {
  return `${pg.user}@${pg.host}:${pg.port}/${pg.database}`
}

function showSetupError(type, title, message, code) {
  $('finish-progress').hidden = true
  $('finish-error').hidden = false
  $('finish-title').textContent = 'The setup did not finish'
  $('finish-error-title').textContent = title
  $('finish-error-text').textContent = message
  $('finish-error-code').textContent = code ? `Error code: ${code}` : ''
  $('finish-retry').onclick = () => setUp(type)
  $('finish-back').onclick = () => (type === 'pglite' ? showEmbedded(true) : showPostgresql(true))
  $('finish-title').focus()
}
