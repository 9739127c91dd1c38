import { Type, type Static } from 'typebox'

export const PLUGIN_STATES = ['loaded', 'running', 'failed', 'refused', 'orphaned'] as const

export const PluginStatusBody = Type.Object({
  id: Type.String(),
  version: Type.Union([Type.String(), Type.Null()], { description: 'null for a plugin whose code is gone (orphaned)' }),
  state: Type.Enum(PLUGIN_STATES, {
    description:
      'loaded: waiting for the database; running; failed: its migrations or start failed (see error); refused: not run because it could not be isolated (see error); orphaned: its code is gone, its schema and data remain (remove them with plugin drop)',
  }),
  tables: Type.Array(Type.String(), { description: "tables in the plugin's schema plugin_<id>, as last seen" }),
  orphaned: Type.Boolean(),
  error: Type.Union([Type.String(), Type.Null()]),
})

export type PluginState = (typeof PLUGIN_STATES)[number]
export type PluginStatus = Static<typeof PluginStatusBody>
