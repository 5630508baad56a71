import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** An error with a fixed HTTP answer: { error: { code, message } }. */
export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

export const badRequest = (code: string, message: string) => new HttpError(400, code, message);
