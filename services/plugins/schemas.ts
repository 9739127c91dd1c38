import { Type, type Static } from 'typebox'
import { Nullable, StringEnum } from '../core/http/schemas.js'

export const PLUGIN_STATES = ['loaded', 'running', 'failed', 'refused', 'orphaned'] as const

export const PluginStatusBody = Type.Object({
  id: Type.String(),
  version: Nullable(Type.String(), { description: 'null for a plugin whose code is gone (orphaned)' }),
  state: StringEnum(PLUGIN_STATES, {
    description:
      'loaded: waiting for the database; running; failed: its migrations or start failed (see error); refused: not run because it could not be isolated (see error); orphaned: its code is gone, its schema and data remain (remove them with plugin drop)',
  }),
  tables: Type.Array(Type.String(), { description: "tables in the plugin's schema plugin_<id>, as last seen" }),
  orphaned: Type.Boolean(),
  error: Nullable(Type.String()),
})

export type PluginState = (typeof PLUGIN_STATES)[number]
export type PluginStatus = Static<typeof PluginStatusBody>
