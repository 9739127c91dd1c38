import { defineSettingsGroup } from '../definition.js'

export default defineSettingsGroup({
  id: 'smtp',
  name: 'E-mail (SMTP)',
  description: 'The SMTP server that sends e-mail on behalf of this installation.',
  sort_order: 10,
  settings: [
    { key: 'smtp.host', type: 'string', default: '', description: 'SMTP server host name. Empty: e-mail is off.', encrypted: false, required: false },
    { key: 'smtp.port', type: 'number', default: 587, description: 'SMTP server port: 587 (STARTTLS), 465 (TLS) or 25.', encrypted: false, required: true, integer: true, min: 1, max: 65535 },
    { key: 'smtp.secure', type: 'boolean', default: false, description: 'Connect with TLS from the start (port 465). False: upgrade with STARTTLS when offered.', encrypted: false, required: true },
    { key: 'smtp.username', type: 'string', default: '', description: 'User name for SMTP authentication. Empty: no authentication.', encrypted: false, required: false },
    { key: 'smtp.password', type: 'string', default: null, description: 'Password for SMTP authentication. Stored encrypted.', encrypted: true, required: false },
    { key: 'smtp.from_address', type: 'string', default: '', description: 'Sender address of outgoing e-mail, e.g. "groundwork <noreply@example.com>".', encrypted: false, required: false },
  ],
})
