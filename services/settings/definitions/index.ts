import general from './general.js'
import smtp from './smtp.js'

/** Every definition module, by its file name (validation errors name it). Add a module here. */
export const definitionModules = { general, smtp }
