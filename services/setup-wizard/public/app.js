// The setup wizard: plain DOM, no framework. Every text from the server goes in with
// textContent, never innerHTML. The admin token lives in sessionStorage (this tab only) and is
// forgotten once the setup is done; it never goes into the URL.

const TOKEN_KEY = 'groundwork.setup.adminToken'
const PAGE_STEPS = ['unlock', 'choose', 'embedded', 'postgresql']
const VIEWS = ['loading', 'offline', 'configured', 'busy', 'unlock', 'choose', 'embedded', 'postgresql', 'finish']
const STEP_OF_VIEW = { unlock: 'unlock', choose: 'choose', embedded: 'check', postgresql: 'check', finish: 'finish' }
const STEP_ORDER = ['unlock', 'choose', 'check', 'finish']
const TITLES = {
  loading: 'Set up groundwork',
  offline: 'Server not answering · groundwork setup',
  configured: 'Already set up · groundwork',
  busy: 'Setup running · groundwork',
  unlock: 'Unlock · groundwork setup',
  choose: 'Choose a database · groundwork setup',
  embedded: 'Embedded database · groundwork setup',
  postgresql: 'Check PostgreSQL · groundwork setup',
  finish: 'Setting up · groundwork',
}
const KIND_LABEL = { pglite: 'Embedded (PGlite)', postgresql: 'PostgreSQL' }
const STATUS_WORD = { passed: 'Passed', warning: 'Warning', failed: 'Failed', skipped: 'Not checked' }
const STATUS_ICON = { passed: '✓', warning: '!', failed: '✕', skipped: '–' }

const state = {
  token: readToken(),
  options: null,
  hint: null,
  preflight: null,
  kind: null,
  pollTimer: null,
}

const $ = (id) => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`missing element #${id}`)
  return element
}

class Offline extends Error {}

// ---- server -------------------------------------------------------------------------------

async function api(method, path, { auth = false, body } = {}) {
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

function problemText(res) {
  if (res.data && typeof res.data.message === 'string') return res.data.message
  return `The server answered ${res.status} without an explanation. Its log has the details.`
}

// ---- token --------------------------------------------------------------------------------

function readToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY)
  } catch {
    return null
  }
}

function keepToken(token) {
  state.token = token
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token)
    else sessionStorage.removeItem(TOKEN_KEY)
  } catch {
    // Storage disabled: the token then lives only in memory, and a reload asks for it again.
  }
}

// ---- views and navigation -----------------------------------------------------------------

function show(view, { focus = true } = {}) {
  clearTimeout(state.pollTimer)
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view
  const step = STEP_OF_VIEW[view]
  $('steps-nav').hidden = !step
  if (step) markSteps(step)
  document.title = TITLES[view]
  $('lede').hidden = view === 'configured' || view === 'finish'
  if (focus) $(`${view}-title`).focus()
}

function markSteps(current, allDone = false) {
  const index = STEP_ORDER.indexOf(current)
  for (const item of $('steps').children) {
    const position = STEP_ORDER.indexOf(item.dataset.step)
    const done = allDone || position < index
    item.classList.toggle('done', done)
    if (position === index && !allDone) item.setAttribute('aria-current', 'step')
    else item.removeAttribute('aria-current')
    item.querySelector('.step-num').textContent = done ? '✓' : String(position + 1)
    let note = item.querySelector('.visually-hidden')
    if (!note) {
      note = document.createElement('span')
      note.className = 'visually-hidden'
      item.append(note)
    }
    note.textContent = done ? ' (done)' : ''
  }
}

/** The path of a page step, so reloads and the back button land on the same step. */
function navigate(view, push) {
  const path = PAGE_STEPS.includes(view) ? `/setup/${view}` : '/setup/'
  if (location.pathname === path) return
  if (push) history.pushState(null, '', path)
  else history.replaceState(null, '', path)
}

function requestedStep() {
  const match = /^\/setup\/([a-z]+)\/?$/.exec(location.pathname)
  return match ? match[1] : null
}

async function start() {
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

function showOffline(message) {
  $('offline-detail').textContent = message
  show('offline')
}

// ---- already set up -----------------------------------------------------------------------

function showConfigured(status) {
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
    ['State', phaseText(status.phase)],
    ['Migrations', migrations ? `${migrations.applied} of ${migrations.total} applied${migrations.pending.length ? `, ${migrations.pending.length} pending` : ''}` : 'not known yet'],
  ])
  const problem = status.last_error
  $('configured-problem').hidden = !problem
  $('configured-problem-text').textContent = problem ? problem.message : ''
  keepToken(null)
  navigate('configured', false)
  show('configured')
}

function phaseText(phase) {
  return (
    {
      ready: 'Ready',
      connecting: 'Starting (connecting and applying migrations)',
      failed: 'Not usable: the server keeps retrying',
      invalid_selection: 'The saved choice is invalid',
      closed: 'Shutting down',
    }[phase] ?? phase
  )
}

function showBusy() {
  navigate('busy', false)
  show('busy')
  state.pollTimer = setTimeout(start, 2000)
}

// ---- step 1: unlock -----------------------------------------------------------------------

async function showUnlock(error) {
  navigate('unlock', false)
  show('unlock', { focus: !error })
  setFieldError($('token'), $('token-error'), error ?? '')
  if (error) $('token').focus()
  if (!state.hint) await loadHint()
}

async function loadHint() {
  try {
    const res = await api('GET', '/api/setup/token-hint')
    if (!res.ok) return
    state.hint = res.data
  } catch {
    return // the generic text already in the page stays
  }
  const box = $('token-where-text')
  box.replaceChildren()
  if (state.hint.source === 'environment') {
    box.append(paragraph('It is the value of the ', code('ADMIN_TOKEN'), ' environment variable the server was started with.'))
  } else {
    box.append(
      paragraph('The server generated it on its first start and saved it in ', code(state.hint.where), '.'),
      paragraph('Print it on the server with ', code(state.hint.command), ' (in a container, run that inside it). The startup log names this file in the line “generated an admin token for the setup wizard”.'),
    )
  }
}

async function unlock(event) {
  event.preventDefault()
  const input = $('token')
  const error = $('token-error')
  const token = input.value.trim()
  if (!token) {
    setFieldError(input, error, 'Enter the admin token.')
    input.focus()
    return
  }
  const button = $('unlock-submit')
  busy(button, true, 'Checking…')
  try {
    state.token = token
    const res = await api('GET', '/api/setup/options', { auth: true })
    if (res.ok) {
      keepToken(token)
      state.options = res.data
      input.value = ''
      setFieldError(input, error, '')
      showChoose(true)
      return
    }
    state.token = null
    const message =
      res.status === 401
        ? 'This token is not the admin token. Copy it again from the place named above; it is case-sensitive.'
        : problemText(res)
    setFieldError(input, error, message)
    input.focus()
    input.select()
  } catch (failure) {
    state.token = null
    if (!(failure instanceof Offline)) throw failure
    setFieldError(input, error, failure.message)
  } finally {
    busy(button, false)
  }
}

function toggleToken() {
  const input = $('token')
  const button = $('token-toggle')
  const showing = input.type === 'text'
  input.type = showing ? 'password' : 'text'
  button.setAttribute('aria-pressed', String(!showing))
  button.textContent = showing ? 'Show' : 'Hide'
}

// ---- step 2: choose -----------------------------------------------------------------------

function showChoose(push) {
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

function targetFacts(pg) {
  const facts = [
    ['Read from', pg.source === 'DATABASE_URL' ? 'DATABASE_URL' : 'POSTGRES_* variables'],
    ['Host', pg.host ?? 'not set'],
    ['Port', String(pg.port)],
    ['Database', pg.database ?? 'not set'],
    ['User', pg.user ?? 'not set'],
    ['Password', pg.passwordSet ? 'set' : 'not set'],
    ['SSL mode', pg.ssl],
  ]
  return facts
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

// ---- step 3: check ------------------------------------------------------------------------

function showEmbedded(push) {
  state.kind = 'pglite'
  $('embedded-dir').textContent = state.options.pglite_data_dir
  const total = state.options.migrations_total
  $('embedded-migrations').textContent = `${total} migration${total === 1 ? '' : 's'}`
  navigate('embedded', push)
  show('embedded')
}

function showPostgresql(push) {
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

function checkItem(check) {
  const item = document.createElement('li')
  item.className = 'check'
  item.dataset.status = check.status
  item.dataset.check = check.check
  item.tabIndex = -1
  const icon = element('span', 'check-icon', STATUS_ICON[check.status])
  icon.setAttribute('aria-hidden', 'true')
  const title = element('span', 'check-title', check.title)
  // The detail already says how long the connection took: the badge only says the outcome.
  title.append(element('span', 'visually-hidden', ': '), element('span', 'check-status', STATUS_WORD[check.status]))
  item.append(icon, title, element('p', 'check-detail', check.detail))
  if (check.remedy) {
    const remedy = element('p', 'check-remedy')
    remedy.append(element('strong', '', 'What to do: '), check.remedy)
    item.append(remedy)
  }
  return item
}

// ---- step 4: set up -----------------------------------------------------------------------

async function setUp(type) {
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
  const location =
    result.database_type === 'pglite'
      ? state.options.pglite_data_dir
      : (() => {
          const pg = state.options.postgresql
          return `${pg.user}@${pg.host}:${pg.port}/${pg.database}`
        })()
  fillFacts($('finish-facts'), [
    ['Database', KIND_LABEL[result.database_type]],
    ['Location', location],
    ['Migrations applied', applied.length ? `${applied.length} (${applied.join(', ')})` : 'none needed: it was already up to date'],
    ['Restart needed', result.restart_required ? 'yes' : 'no'],
  ])
  $('finish-restart').hidden = !result.restart_required
  $('finish-restart-text').textContent = result.restart_required ? result.message : ''
  navigate('finish', false)
  $('finish-title').focus()
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

// ---- small DOM helpers --------------------------------------------------------------------

function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

function code(text) {
  return element('code', '', text)
}

function paragraph(...parts) {
  const node = document.createElement('p')
  node.append(...parts)
  return node
}

function fillFacts(list, facts) {
  list.replaceChildren()
  for (const [term, value] of facts) list.append(element('dt', '', term), typeof value === 'string' ? element('dd', '', value) : wrap('dd', value))
}

function wrap(tag, child) {
  const node = document.createElement(tag)
  node.append(child)
  return node
}

function timeElement(iso, text) {
  const node = element('time', '', text)
  node.dateTime = iso
  return node
}

function formatDate(iso) {
  const date = new Date(iso)
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

function setFieldError(input, holder, message) {
  holder.textContent = message
  if (message) input.setAttribute('aria-invalid', 'true')
  else input.removeAttribute('aria-invalid')
}

function busy(button, on, text) {
  if (on) {
    button.dataset.label = button.textContent
    button.textContent = text
  } else if (button.dataset.label) {
    button.textContent = button.dataset.label
  }
  button.disabled = on
  button.setAttribute('aria-busy', String(on))
}

// ---- wiring -------------------------------------------------------------------------------

$('unlock-form').addEventListener('submit', unlock)
$('token-toggle').addEventListener('click', toggleToken)
$('choose-form').addEventListener('submit', choose)
$('embedded-setup').addEventListener('click', () => setUp('pglite'))
$('pg-test').addEventListener('click', testConnection)
$('pg-setup').addEventListener('click', () => setUp('postgresql'))
$('pg-confirm-box').addEventListener('change', updateSetupButton)
$('offline-retry').addEventListener('click', start)
$('busy-retry').addEventListener('click', start)
for (const button of document.querySelectorAll('[data-back="choose"]')) button.addEventListener('click', () => showChoose(true))
window.addEventListener('popstate', start)

start()
