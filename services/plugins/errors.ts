import { defineErrors } from '../core/errors.js'

/** The plugin host's codes: a plugin that is not running, and dropping a removed plugin's data. */
export const pluginError = defineErrors({
  plugin_not_ready: 503,
  plugin_not_found: 404,
  plugin_still_installed: 409,
  plugin_drop_unconfirmed: 400,
})

/** Invalid plugins stop startup: every problem at once, each naming its plugin and what to fix. */
export class PluginLoadError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid plugins:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix or remove these plugins and start again.`)
    this.name = 'PluginLoadError'
  }
}
