import { describe, expect, it } from 'vitest'
import { ServiceError, defineErrors, messageOf } from './errors.js'

describe('service errors', () => {
  it('gives each code the status its service declared, and 500 to a code nobody declared', () => {
    const notesError = defineErrors({ note_not_found: 404, note_too_long: 413 })
    const error = notesError('note_not_found', 'No note 7. List them with GET /api/notes.', { details: { id: 7 } })
    expect(error).toBeInstanceOf(ServiceError)
    expect(error).toMatchObject({ code: 'note_not_found', status: 404, details: { id: 7 }, message: 'No note 7. List them with GET /api/notes.' })
    expect(notesError.statuses).toEqual({ note_not_found: 404, note_too_long: 413 })
    expect(new ServiceError('nobody_declared_this', 'x').status).toBe(500)
  })

  it('refuses one code declared with two statuses, a status that is not an error, and a code that is not snake_case', () => {
    defineErrors({ shared_code: 409 })
    expect(() => defineErrors({ shared_code: 409 })).not.toThrow()
    expect(() => defineErrors({ shared_code: 400 })).toThrow(/declared twice, with statuses 409 and 400/)
    expect(() => defineErrors({ fine_code: 200 })).toThrow(/expected 400 to 599/)
    expect(() => defineErrors({ 'Not-Snake': 400 })).toThrow(/snake_case/)
  })

  it('never says "undefined" for what was thrown, even when it is not an Error', () => {
    expect(messageOf(new Error('disk full'))).toBe('disk full')
    expect(messageOf(Object.assign(new Error(''), { code: 'ENOSPC' }))).toBe('Error (ENOSPC) without a message')
    expect(messageOf(undefined)).toBe('undefined thrown')
    expect(messageOf({ errno: 51 })).toBe('Object (errno 51) without a message')
    expect(messageOf({ message: 'from WASM' })).toBe('from WASM')
    expect(messageOf('plain text')).toBe('plain text')
  })
})
