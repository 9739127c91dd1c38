import { navigate } from '../address.js'
import { Offline, api, problemText } from '../api.js'
import { targetFacts } from '../database-facts.js'
import { $, busy, fillFacts } from '../dom.js'
import { keepToken, state } from '../state.js'
import { show } from '../views.js'
import { checkItem } from './check-item.js'
import { setUp } from './finish.js'
import { showUnlock } from './unlock.js'

/** Step 3 for PostgreSQL: the settings, a read-only test, and Set up only once the test allows it. */
export function showPostgresql(push) {
  state.kind = 'postgresql'
  state.preflight = null
  fillFacts($('pg-target'), targetFacts(state.options.postgresql))
  $('pg-report-status').textContent = ''
  $('pg-checks').hidden = true
  $('pg-checks').replaceChildren()
  $('pg-confirm').hidden = true
  $('pg-confirm-box').checked = false
  $('pg-setup-actions').hidden = true
  navigate('postgresql', push)
  show('postgresql')
}

export function wirePostgresql() {
  $('pg-test').addEventListener('click', testConnection)
  $('pg-setup').addEventListener('click', () => setUp('postgresql'))
  $('pg-confirm-box').addEventListener('change', updateSetupButton)
}

async function testConnection() {
  const button = $('pg-test')
  busy(button, true, 'Testing…')
  $('pg-report-status').textContent = 'Testing the connection…'
  $('pg-setup-actions').hidden = true
  $('pg-confirm').hidden = true
  try {
    const res = await api('POST', '/api/setup/preflight', { auth: true })
    if (res.status === 401) {
      keepToken(null)
      return showUnlock('The admin token is no longer accepted. Enter the current token.')
    }
    if (!res.ok) {
      $('pg-report-status').textContent = `The test could not run: ${problemText(res)}`
      return
    }
    renderReport(res.data)
  } catch (failure) {
    if (!(failure instanceof Offline)) throw failure
    $('pg-report-status').textContent = failure.message
  } finally {
    busy(button, false)
    button.textContent = state.preflight ? 'Test again' : 'Test connection'
  }
}

/** The focus goes to the first failed check, or else to the summary (a live region) above the checks. */
function renderReport(report) {
  state.preflight = report
  const list = $('pg-checks')
  list.replaceChildren(...report.checks.map(checkItem))
  list.hidden = false
  const failed = report.checks.filter((check) => check.status === 'failed')
  if (!report.ok) {
    $('pg-report-status').textContent = `${failed.length === 1 ? 'One check failed' : `${failed.length} checks failed`}. Fix ${failed.length === 1 ? 'it' : 'them'}, then test again.`
    const first = list.querySelector('[data-status="failed"]')
    if (first) first.focus()
    return
  }
  $('pg-report-status').textContent = report.warnings
    ? `The connection works, with ${report.warnings === 1 ? 'a warning' : `${report.warnings} warnings`}: read ${report.warnings === 1 ? 'it' : 'them'} before setting up.`
    : 'All checks passed. You can set up PostgreSQL.'
  $('pg-confirm').hidden = report.warnings === 0
  $('pg-confirm-box').checked = false
  $('pg-setup-actions').hidden = false
  updateSetupButton()
  $('pg-report-status').focus()
}

function updateSetupButton() {
  const needsConfirm = Boolean(state.preflight && state.preflight.warnings > 0)
  const confirmed = $('pg-confirm-box').checked
  $('pg-setup').disabled = needsConfirm && !confirmed
  $('pg-setup-help').textContent = needsConfirm && !confirmed ? 'Tick the box above to set up in a database that already holds other tables.' : ''
}
