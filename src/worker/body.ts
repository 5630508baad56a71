import { HttpError } from './errors';

/** The media type of a Content-Type header, lower-cased, without parameters ('' when absent). */
export function mediaType(contentType: string | null | undefined): string {
  if (!contentType) return '';
  return contentType.split(';', 1)[0]!.trim().toLowerCase();
}

function tooLarge(limit: number, what: string): HttpError {
  return new HttpError(413, 'payload_too_large', `${what} exceeds the limit of ${limit} bytes`);
}

/**
 * Reads a request body into memory, refusing more than `limit` bytes: first from the
 * Content-Length header (nothing is read), then while streaming (for chunked bodies or
 * a lying Content-Length). An absent body gives an empty array.
 */
export async function readBodyLimited(req: Request, limit: number, what = 'request body'): Promise<Uint8Array> {
  const declared = req.headers.get('content-length');
  let expected = -1;
  if (declared !== null && /^\d+$/.test(declared.trim())) {
    expected = Number(declared.trim());
    if (expected > limit) throw tooLarge(limit, what);
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  // With a trustworthy Content-Length, read straight into one buffer.
  let buf = new Uint8Array(expected > 0 ? expected : 64 * 1024);
  let length = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const chunk = value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
      if (length + chunk.byteLength > limit) {
        await reader.cancel().catch(() => {});
        throw tooLarge(limit, what);
      }
      if (length + chunk.byteLength > buf.byteLength) {
        const grown = new Uint8Array(Math.min(limit, Math.max(buf.byteLength * 2, length + chunk.byteLength)));
        grown.set(buf.subarray(0, length));
        buf = grown;
      }
      buf.set(chunk, length);
      length += chunk.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  return length === buf.byteLength ? buf : buf.slice(0, length);
}

/** Media types accepted as an image body (also for a multipart `image` part's own type). */
export const IMAGE_MEDIA_TYPES: ReadonlySet<string> = new Set(['image/jpeg', 'image/jpg', 'image/pjpeg', 'image/png']);

/**
 * Checks the request's Content-Type for an image upload. Returns 'multipart' or 'raw'.
 * An absent Content-Type is accepted; the bytes' signature then decides (JPEG/PNG or 415).
 */
export function classifyUploadType(contentType: string | null | undefined): 'multipart' | 'raw' {
  const mt = mediaType(contentType);
  if (mt === 'multipart/form-data') return 'multipart';
  if (mt === '' || IMAGE_MEDIA_TYPES.has(mt)) return 'raw';
  throw new HttpError(415, 'unsupported_media_type',
    `Content-Type ${mt} is not supported: send image/jpeg, image/png, or multipart/form-data with an "image" field`);
}

/** Extracts the `image` file of a multipart/form-data body. */
export async function imageFromMultipart(body: Uint8Array, contentType: string): Promise<Uint8Array> {
  let form: FormData;
  try {
    form = await new Request('http://multipart.invalid/', {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    }).formData();
  } catch {
    throw new HttpError(400, 'bad_multipart', 'the multipart/form-data body could not be parsed');
  }
  // workers-types' default entry point types get() as string (pre-2021 semantics); with our
  // compatibility date a file part arrives as a File.
  const part = form.get('image') as unknown as File | string | null;
  if (part === null) throw new HttpError(400, 'no_body', 'the multipart/form-data body has no "image" field');
  if (typeof part === 'string') {
    throw new HttpError(400, 'bad_multipart', 'the "image" field must be a file, not a text field');
  }
  const partType = mediaType(part.type);
  if (partType !== '' && partType !== 'application/octet-stream' && !IMAGE_MEDIA_TYPES.has(partType)) {
    throw new HttpError(415, 'unsupported_media_type', `the "image" part has type ${partType}: send a JPEG or PNG image`);
  }
  return new Uint8Array(await part.arrayBuffer());
}
