import { navigate } from '../address.js'
import { Offline, api, problemText } from '../api.js'
import { $, busy, code, paragraph, setFieldError } from '../dom.js'
import { keepToken, state } from '../state.js'
import { show } from '../views.js'
import { showChoose } from './choose.js'

/** Step 1. With an error (a token that stopped working), the focus goes to the field that shows it. */
export async function showUnlock(error) {
  navigate('unlock', false)
  show('unlock', { focus: !error })
  setFieldError($('token'), $('token-error'), error ?? '')
  if (error) $('token').focus()
  if (!state.hint) await loadHint()
}

export function wireUnlock() {
  $('unlock-form').addEventListener('submit', unlock)
  $('token-toggle').addEventListener('click', toggleToken)
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
