import type { PluginSettingsGroup } from '../../services/plugins/definition.js'

export const settings = {
  name: 'Notes',
  description: 'The example notes plugin.',
  settings: [
    {
      name: 'retention_days',
      type: 'number',
      default: 365,
      description: 'Notes older than this many days are removed by the daily prune_old_notes job. 0 keeps them forever. At most 36500 (a hundred years).',
      encrypted: false,
      required: true,
      integer: true,
      min: 0,
      max: 36500,
    },
  ],
} as const satisfies PluginSettingsGroup
