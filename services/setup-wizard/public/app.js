// The setup wizard's entry: plain DOM and ES modules, no framework, no build step. One module per
// view (steps/ for the four numbered steps, status/ for the server's other states); router.js
// opens the right one for the server's status and the address bar.

import { $ } from './dom.js'
import { start } from './router.js'
import { wireChoose } from './steps/choose.js'
import { wireEmbedded } from './steps/embedded.js'
import { wirePostgresql } from './steps/postgresql.js'
import { wireUnlock } from './steps/unlock.js'

wireUnlock()
wireChoose()
wireEmbedded()
wirePostgresql()
$('offline-retry').addEventListener('click', start)
$('busy-retry').addEventListener('click', start)
window.addEventListener('popstate', start)

start()
