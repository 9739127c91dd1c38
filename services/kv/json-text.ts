import { defineEntry, type JsonValue } from './json-value.js'

/*
 * JSON.parse on Node 24 (V8 13.6) can return the wrong name for an object member written with an
 * escape: once some parse has read a member named "\" (source "\\"), a later one-character escaped
 * name at the same place in an object of the same shape ("\"", "\n", "\u0001"…) comes back as "\".
 * V8 follows the map transition the earlier object left, comparing it with the raw source
 * (https://issues.chromium.org/issues/521080746, https://github.com/nodejs/node/issues/63785).
 * Which names are read wrong depends on every earlier parse in the process, so it looks random.
 * A text without a backslash has no escaped name and parses exactly; the rest is read here.
 * Strings alone (values, and names once cut out) are not affected, so JSON.parse decodes those.
 */

const WHITESPACE = /[ \t\n\r]*/y
// Unrolled (a run of plain characters between escapes) so a long string is one cheap match.
// eslint-disable-next-line no-control-regex -- JSON forbids raw control characters in strings
const STRING = /"[^"\\\u0000-\u001f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\u0000-\u001f]*)*"/y
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const LITERALS = new Map<string, JsonValue>([
  ['true', true],
  ['false', false],
  ['null', null],
])

type Frame = { items: JsonValue[] } | { object: Record<string, JsonValue>; name: string }

/** JSON.parse(text), without V8's escaped-name fault. Throws a SyntaxError for text that is not JSON. */
export function parseJsonText(text: string): JsonValue {
  return text.includes('\\') ? new Reader(text).document() : (JSON.parse(text) as JsonValue)
}

// Iterative, not recursive: a request body may nest deeper than the stack allows.
class Reader {
  private at = 0
  private readonly frames: Frame[] = []

  constructor(private readonly text: string) {}

  document(): JsonValue {
    for (;;) {
      let value = this.open()
      if (value === undefined) continue
      for (;;) {
        const frame = this.frames.at(-1)
        this.skipWhitespace()
        if (!frame) {
          if (this.at !== this.text.length) this.fail('unexpected text after the value')
          return value
        }
        if ('items' in frame) frame.items.push(value)
        else defineEntry(frame.object, frame.name, value)
        const next = this.text[this.at++]
        if (next === ',') {
          if (!('items' in frame)) frame.name = this.name()
          break
        }
        if (next !== ('items' in frame ? ']' : '}')) this.fail(`expected "," or "${'items' in frame ? ']' : '}'}"`)
        this.frames.pop()
        value = 'items' in frame ? frame.items : frame.object
      }
    }
  }

  /** A complete value, or undefined after opening a non-empty container (its frame is pushed). */
  private open(): JsonValue | undefined {
    this.skipWhitespace()
    const char = this.text[this.at]
    if (char === '[' || char === '{') {
      this.at++
      this.skipWhitespace()
      if (this.text[this.at] === (char === '[' ? ']' : '}')) {
        this.at++
        return char === '[' ? [] : {}
      }
      this.frames.push(char === '[' ? { items: [] } : { object: {}, name: this.name() })
      return undefined
    }
    if (char === '"') return this.string()
    const number = this.match(NUMBER)
    if (number !== null) return Number(number)
    for (const [word, value] of LITERALS) {
      if (this.text.startsWith(word, this.at)) {
        this.at += word.length
        return value
      }
    }
    return this.fail('expected a value')
  }

  private name(): string {
    this.skipWhitespace()
    const name = this.string()
    this.skipWhitespace()
    if (this.text[this.at++] !== ':') this.fail('expected ":"')
    return name
  }

  private string(): string {
    const token = this.match(STRING)
    return token === null ? this.fail('expected a string') : (JSON.parse(token) as string)
  }

  private skipWhitespace(): void {
    this.match(WHITESPACE)
  }

  private match(pattern: RegExp): string | null {
    pattern.lastIndex = this.at
    const found = pattern.exec(this.text)
    if (!found) return null
    this.at = pattern.lastIndex
    return found[0]
  }

  private fail(problem: string): never {
    throw new SyntaxError(`Invalid JSON at position ${this.at}: ${problem}`)
  }
}
