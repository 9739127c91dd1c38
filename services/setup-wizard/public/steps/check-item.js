import { element } from '../dom.js'

const STATUS_WORD = { passed: 'Passed', warning: 'Warning', failed: 'Failed', skipped: 'Not checked' }
const STATUS_ICON = { passed: '✓', warning: '!', failed: '✕', skipped: '–' }

/** One preflight check as a list item; focusable, so a failed one can take the focus. */
export function checkItem(check) {
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
