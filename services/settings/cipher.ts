import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto'
import type { Json } from './definition.js'

/** How an encrypted value is stored: AES-256-GCM, base64 fields, the id of the key beside it. */
export interface Envelope {
  v: 1
  kid: string
  iv: string
  tag: string
  ct: string
}

export interface KeyIdentity {
  /** Short id stored with each ciphertext: which key wrote it. */
  kid: string
  /** Recorded in the database to notice a different key at startup. One-way: it cannot give the key back. */
  fingerprint: string
}

export function identify(key: Buffer): KeyIdentity {
  return {
    kid: createHmac('sha256', key).update('groundwork settings key id v1').digest('hex').slice(0, 16),
    fingerprint: createHmac('sha256', key).update('groundwork settings key fingerprint v1').digest('hex'),
  }
}

/** The setting's key is authenticated with the value, so a ciphertext moved to another row does not decrypt. */
export function seal(key: Buffer, kid: string, settingKey: string, value: Json): Envelope {
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(settingKey, 'utf8'))
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()])
  return { v: 1, kid, iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), ct: ct.toString('base64') }
}

/** Throws when the envelope was altered or written with another key (callers check `kid` first). */
export function open(key: Buffer, settingKey: string, envelope: Envelope): Json {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(envelope.iv, 'base64'))
  decipher.setAAD(Buffer.from(settingKey, 'utf8'))
  decipher.setAuthTag(Buffer.from(envelope.tag, 'base64'))
  const clear = Buffer.concat([decipher.update(Buffer.from(envelope.ct, 'base64')), decipher.final()])
  return JSON.parse(clear.toString('utf8')) as Json
}

export function isEnvelope(value: unknown): value is Envelope {
  const e = value as Partial<Envelope> | null
  return typeof e === 'object' && e !== null && e.v === 1 && typeof e.kid === 'string' && typeof e.iv === 'string' && typeof e.tag === 'string' && typeof e.ct === 'string'
}
