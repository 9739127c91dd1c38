import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { findProjectRoot } from '../../services/core/project-root.js'

/** Makes the checks of in-page.js available in every page of the context. */
export async function addPageChecks(context: BrowserContext): Promise<void> {
  await context.addInitScript({ path: join(findProjectRoot(), 'test', 'browser', 'in-page.js') })
}

/** Visible text whose contrast against its background is below WCAG AA. */
export function lowContrastTexts(page: Page): Promise<string[]> {
  return page.evaluate('window.__pageChecks.lowContrastTexts()')
}

/** True when the page fits its viewport's width (nothing to scroll sideways). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate('window.__pageChecks.fitsWidth()')
}

/** The focused element's id and whether a focus outline of at least 2 px is drawn around it. */
export function focused(page: Page): Promise<{ id: string; outline: boolean }> {
  return page.evaluate('window.__pageChecks.focused()')
}

/** How many values the page keeps in sessionStorage (the token is the only one it ever stores). */
export function sessionStorageSize(page: Page): Promise<number> {
  return page.evaluate('Object.keys(sessionStorage).length')
}

export function historyLength(page: Page): Promise<number> {
  return page.evaluate('history.length')
}
