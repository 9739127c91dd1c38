import { Type } from 'typebox'

/** The body of every error response: a stable code and a message for a person. */
export const ErrorBody = Type.Object(
  {
    error: Type.String({ description: 'stable, machine-readable code' }),
    message: Type.String({ description: 'what failed, why, and what to do' }),
  },
  { additionalProperties: true },
)
