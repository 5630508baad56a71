import type { MiddlewareHandler } from 'hono';
import type { Env } from './env';
import { HttpError } from './errors';

const encoder = new TextEncoder();

/**
 * Constant-time comparison of two secrets: both are hashed with SHA-256 (so their
 * lengths leak nothing) and all 32 digest bytes are compared with an XOR accumulator.
 */
export async function secretsEqual(provided: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(provided)),
    crypto.subtle.digest('SHA-256', encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}

/** The token of an `Authorization: Bearer <token>` header, or '' when absent or malformed. */
export function bearerToken(header: string | null | undefined): string {
  if (!header) return '';
  const m = /^\s*bearer\s+(\S+)\s*$/i.exec(header);
  return m ? m[1]! : '';
}

/**
 * Admin guard. ADMIN_TOKEN unset/empty: 403 admin_disabled. Otherwise a missing and a
 * wrong token take the same path (hash + compare) and get the same 401 answer.
 */
export const requireAdmin: MiddlewareHandler<{ Bindings: Env }> = async (c, next) => {
  const expected = c.env.ADMIN_TOKEN;
  if (expected === undefined || expected === '') {
    throw new HttpError(403, 'admin_disabled', 'admin endpoints are disabled: ADMIN_TOKEN is not configured');
  }
  const ok = await secretsEqual(bearerToken(c.req.header('authorization')), expected);
  if (!ok) {
    throw new HttpError(401, 'unauthorized', 'a valid admin token is required (Authorization: Bearer <token>)', {
      'WWW-Authenticate': 'Bearer realm="edgelens"',
    });
  }
  await next();
};
