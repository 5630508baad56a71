/** Model ids: lower-case, start with a letter or digit, 1..64 characters. */
export const MODEL_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export function isValidModelId(id: string): boolean {
  return MODEL_ID_RE.test(id);
}

/** A lower-case hex SHA-256 digest (64 characters). */
export const SHA256_RE = /^[0-9a-f]{64}$/;

export function isSha256Hex(s: string): boolean {
  return SHA256_RE.test(s);
}
