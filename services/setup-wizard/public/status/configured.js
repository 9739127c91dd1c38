import { navigate } from '../address.js'
import { KIND_LABEL } from '../database-facts.js'
import { $, fillFacts, timeElement } from '../dom.js'
import { keepToken } from '../state.js'
import { show } from '../views.js'

const PHASE_TEXT = {
  ready: 'Ready',
  connecting: 'Starting (connecting and applying migrations)',
  failed: 'Not usable: the server keeps retrying',
  invalid_selection: 'The saved choice is invalid',
  closed: 'Shutting down',
}

/** The setup ran already: say what was chosen and how it is doing; the token is no longer needed. */
export function showConfigured(status) {
  const kind = status.type ? KIND_LABEL[status.type] : null
  const when = status.selected_at ? formatDate(status.selected_at) : null
  const by = status.source === 'environment' ? 'by the DB_TYPE environment variable' : 'with this setup page'
  $('configured-summary').textContent = kind
    ? `groundwork uses ${kind === 'PostgreSQL' ? 'a PostgreSQL server' : 'the embedded database (PGlite)'}, chosen ${by}${when ? ` on ${when}` : ''}.`
    : 'A database was chosen, but the choice cannot be read.'
  const migrations = status.migrations
  fillFacts($('configured-facts'), [
    ['Database', kind ?? 'unknown'],
    ['Chosen', when ? timeElement(status.selected_at, when) : 'unknown'],
    ['Chosen through', status.source === 'environment' ? 'DB_TYPE variable' : status.source === 'file' ? 'setup page (db.selection.json)' : 'unknown'],
    ['State', PHASE_TEXT[status.phase] ?? status.phase],
    ['Migrations', migrations ? `${migrations.applied} of ${migrations.total} applied${migrations.pending.length ? `, ${migrations.pending.length} pending` : ''}` : 'not known yet'],
  ])
  const problem = status.last_error
  $('configured-problem').hidden = !problem
  $('configured-problem-text').textContent = problem ? problem.message : ''
  keepToken(null)
  navigate('configured', false)
  show('configured')
}

function formatDate(iso) {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
