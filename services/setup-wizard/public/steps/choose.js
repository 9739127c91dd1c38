import { navigate } from '../address.js'
import { targetFacts } from '../database-facts.js'
import { $, fillFacts } from '../dom.js'
import { state } from '../state.js'
import { show } from '../views.js'
import { showEmbedded } from './embedded.js'
import { showPostgresql } from './postgresql.js'

/** Step 2: the two kinds of database, and what PostgreSQL still lacks in the server's environment. */
export function showChoose(push) {
  const { kinds, postgresql: pg } = state.options
  for (const kind of kinds) $(`kind-${kind.type}-summary`).textContent = kind.summary
  $('pg-missing-short').textContent = pg.missing.length ? `Not ready: ${pg.missing.join(', ')} ${pg.missing.length === 1 ? 'is' : 'are'} not set.` : ''
  fillFacts($('pg-facts'), targetFacts(pg))
  $('pg-missing').hidden = pg.missing.length === 0
  if (pg.missing.length) {
    $('pg-missing-title').textContent = `To use PostgreSQL, set ${pg.missing.join(', ')}`
    $('pg-missing-how').textContent = pg.how_to_set ?? ''
    $('pg-missing-example').textContent = pg.example ?? ''
  }
  // The default: the embedded database, unless the server was given complete PostgreSQL settings.
  const preselected = state.kind ?? (pg.missing.length === 0 ? 'postgresql' : 'pglite')
  for (const radio of document.querySelectorAll('input[name="kind"]')) radio.checked = radio.value === preselected
  setGroupError('')
  navigate('choose', push)
  show('choose')
}

/** The form, and the Back buttons of the later steps, which all lead here. */
export function wireChoose() {
  $('choose-form').addEventListener('submit', choose)
  for (const button of document.querySelectorAll('[data-back="choose"]')) button.addEventListener('click', () => showChoose(true))
}

function choose(event) {
  event.preventDefault()
  const picked = document.querySelector('input[name="kind"]:checked')
  if (!picked) {
    setGroupError('Choose one of the two databases.')
    $('kind-pglite').focus()
    return
  }
  const pg = state.options.postgresql
  if (picked.value === 'postgresql' && pg.missing.length) {
    setGroupError(`PostgreSQL cannot be used yet: ${pg.missing.join(', ')} ${pg.missing.length === 1 ? 'is' : 'are'} not set in the server's environment. See below how to set them.`)
    picked.focus()
    return
  }
  setGroupError('')
  state.kind = picked.value
  if (picked.value === 'pglite') showEmbedded(true)
  else showPostgresql(true)
}

function setGroupError(message) {
  const fieldset = $('choose-form').querySelector('fieldset')
  $('choose-error').textContent = message
  if (message) fieldset.setAttribute('aria-invalid', 'true')
  else fieldset.removeAttribute('aria-invalid')
}
