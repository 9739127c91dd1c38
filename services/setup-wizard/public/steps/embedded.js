import { navigate } from '../address.js'
import { $ } from '../dom.js'
import { state } from '../state.js'
import { show } from '../views.js'
import { setUp } from './finish.js'

/** Step 3 for PGlite: nothing to test, only what setting up will do and where. */
export function showEmbedded(push) {
  state.kind = 'pglite'
  $('embedded-dir').textContent = state.options.pglite_data_dir
  const total = state.options.migrations_total
  $('embedded-migrations').textContent = `${total} migration${total === 1 ? '' : 's'}`
  navigate('embedded', push)
  show('embedded')
}

export function wireEmbedded() {
  $('embedded-setup').addEventListener('click', () => setUp('pglite'))
}
