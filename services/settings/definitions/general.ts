import { defineSettingsGroup } from '../definition.js'

export default defineSettingsGroup({
  id: 'general',
  name: 'General',
  description: 'How this installation names itself and where it is reached.',
  sort_order: 0,
  settings: [
    {
      key: 'general.instance_name',
      type: 'string',
      default: 'groundwork',
      description: 'The name shown to people, e.g. in page titles and e-mail subjects.',
      encrypted: false,
      required: true,
    },
    {
      key: 'general.public_url',
      type: 'string',
      default: '',
      description: 'The address people use to reach this installation (e.g. https://groundwork.example.com), for links in e-mails. Empty: not known.',
      encrypted: false,
      required: false,
      format: 'url',
    },
  ],
})
