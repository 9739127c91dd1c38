import { $ } from './dom.js'
import { state } from './state.js'

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

/** Shows one view and hides the others; moves the focus to its heading unless told not to. */
export function show(view, { focus = true } = {}) {
  clearTimeout(state.pollTimer)
  for (const name of VIEWS) $(`view-${name}`).hidden = name !== view
  const step = STEP_OF_VIEW[view]
  $('steps-nav').hidden = !step
  if (step) markSteps(step)
  document.title = TITLES[view]
  $('lede').hidden = view === 'configured' || view === 'finish'
  if (focus) $(`${view}-title`).focus()
}

export function markSteps(current, allDone = false) {
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
