// The address bar follows the page steps, so reloads and the back button land on the same step.
// The server answers the same paths (PAGE_STEPS in ../plugin.ts).

const PAGE_STEPS = ['unlock', 'choose', 'embedded', 'postgresql']

export function navigate(view, push) {
  const path = PAGE_STEPS.includes(view) ? `/setup/${view}` : '/setup/'
  if (location.pathname === path) return
  if (push) history.pushState(null, '', path)
  else history.replaceState(null, '', path)
}

export function requestedStep() {
  const match = /^\/setup\/([a-z]+)\/?$/.exec(location.pathname)
  return match ? match[1] : null
}
