import { navigate } from '../address.js'
import { start } from '../router.js'
import { state } from '../state.js'
import { show } from '../views.js'

/** Another tab's setup is running: look again every two seconds until it is over. */
export function showBusy() {
  navigate('busy', false)
  show('busy')
  state.pollTimer = setTimeout(start, 2000)
}
