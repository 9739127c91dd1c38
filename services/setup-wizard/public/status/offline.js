import { $ } from '../dom.js'
import { show } from '../views.js'

export function showOffline(message) {
  $('offline-detail').textContent = message
  show('offline')
}
