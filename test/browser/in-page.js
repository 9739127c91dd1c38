/* global window, document, getComputedStyle, NodeFilter */
// Runs inside the page under test (added with addInitScript): the project's TypeScript has no DOM
// library, so the browser-side checks live here as plain JavaScript.

const parse = (value) => {
  const match = /rgba?\(([^)]+)\)/.exec(value)
  if (!match) return null
  const [r = 0, g = 0, b = 0, a = 1] = match[1].split(/[\s,/]+/).filter(Boolean).map(Number)
  return { r, g, b, a }
}

const channel = (v) => {
  const s = v / 255
  return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
}

const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b)

const background = (element) => {
  for (let e = element; e; e = e.parentElement) {
    const color = parse(getComputedStyle(e).backgroundColor)
    if (color && color.a === 1) return color
  }
  return { r: 255, g: 255, b: 255, a: 1 }
}

window.__pageChecks = {
  /** Visible text below WCAG AA contrast (4.5:1, 3:1 for large text); disabled controls are exempt, as in WCAG. */
  lowContrastTexts() {
    const problems = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const text = node.textContent.trim()
      const element = node.parentElement
      if (!text || !element || element.closest(':disabled')) continue
      const box = element.getBoundingClientRect()
      if (box.width <= 1 || box.height <= 1 || !element.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue
      const style = getComputedStyle(element)
      const foreground = parse(style.color)
      if (!foreground) continue
      const [light, dark] = [luminance(foreground), luminance(background(element))].sort((x, y) => y - x)
      const ratio = (light + 0.05) / (dark + 0.05)
      const size = parseFloat(style.fontSize)
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700)
      if (ratio < (large ? 3 : 4.5)) problems.push(`"${text.slice(0, 40)}" ${ratio.toFixed(2)}:1`)
    }
    return problems
  },

  fitsWidth() {
    return document.documentElement.scrollWidth <= window.innerWidth
  },

  focused() {
    const element = document.activeElement
    const style = element ? getComputedStyle(element) : null
    return { id: element ? element.id : '', outline: Boolean(style && style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) }
  },
}
