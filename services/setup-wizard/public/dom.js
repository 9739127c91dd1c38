// Every text from the server goes in with textContent, never innerHTML.

export const $ = (id) => {
  const element = document.getElementById(id)
  if (!element) throw new Error(`missing element #${id}`)
  return element
}

export function element(tag, className, text) {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text !== undefined) node.textContent = text
  return node
}

export function code(text) {
  return element('code', '', text)
}

export function paragraph(...parts) {
  const node = document.createElement('p')
  node.append(...parts)
  return node
}

/** Fills a <dl> with [term, value] pairs; a value is a string or a node. */
export function fillFacts(list, facts) {
  list.replaceChildren()
  for (const [term, value] of facts) list.append(element('dt', '', term), typeof value === 'string' ? element('dd', '', value) : wrap('dd', value))
}

function wrap(tag, child) {
  const node = document.createElement(tag)
  node.append(child)
  return node
}

export function timeElement(iso, text) {
  const node = element('time', '', text)
  node.dateTime = iso
  return node
}

export function setFieldError(input, holder, message) {
  holder.textContent = message
  if (message) input.setAttribute('aria-invalid', 'true')
  else input.removeAttribute('aria-invalid')
}

export function busy(button, on, text) {
  if (on) {
    button.dataset.label = button.textContent
    button.textContent = text
  } else if (button.dataset.label) {
    button.textContent = button.dataset.label
  }
  button.disabled = on
  button.setAttribute('aria-busy', String(on))
}
