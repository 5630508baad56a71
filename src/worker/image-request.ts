// The image half of an inference request, shared by the single-model routes (app.ts) and the
// adaptive cascade (adaptive.ts): header checks, then read -> probe -> decode.
import {
  DEFAULT_IMAGE_LIMITS, ImageError, decodeImage, probeImage, type DecodeOptions, type ImageLimits, type ScaledDecodedImage,
} from '../image';
import { classifyUploadType, imageFromMultipart, readBodyLimited } from './body';
import type { Env } from './env';
import { HttpError } from './errors';
import { readLimits, type Limits } from './limits';
import type { Timings } from './timing';

export interface ImageRequest {
  req: Request;
  limits: Limits;
  uploadType: 'multipart' | 'raw';
  contentType: string | null;
}

export function imageLimits(limits: Limits): ImageLimits {
  return { ...DEFAULT_IMAGE_LIMITS, maxPixels: limits.maxImagePixels };
}

/** Errors thrown by the decoder that are not ImageError are still bad input: 422. */
export function asImageError(e: unknown): unknown {
  if (e instanceof ImageError || e instanceof HttpError) return e;
  console.warn('edgelens: decoder error mapped to 422:', e);
  return new HttpError(422, 'undecodable_image', 'the image could not be decoded');
}

/** Cheap header checks first: nothing is read for these answers (413 by Content-Length, 415 by type). */
export function checkImageRequest(req: Request, env: Env): ImageRequest {
  const limits = readLimits(env);
  const contentLength = req.headers.get('content-length');
  if (contentLength !== null && /^\d+$/.test(contentLength.trim()) && Number(contentLength) > limits.maxBodyBytes) {
    throw new HttpError(413, 'payload_too_large', `request body exceeds the limit of ${limits.maxBodyBytes} bytes`);
  }
  const contentType = req.headers.get('content-type');
  const uploadType = classifyUploadType(contentType);
  return { req, limits, uploadType, contentType };
}

/** read (size limit, multipart) -> probe (415 not JPEG/PNG, 413 over the pixel limit, before
 *  decoding) -> decode; timed as 'read' and 'decode'. options: the wasm JPEG decoder and the
 *  size the image will be resized to (src/image/index.ts: JPEGs may come back reduced). */
export async function readAndDecode(r: ImageRequest, timings: Timings, options?: DecodeOptions): Promise<ScaledDecodedImage> {
  const bytes = await timings.time('read', async () => {
    const body = await readBodyLimited(r.req, r.limits.maxBodyBytes);
    if (body.byteLength === 0) throw new HttpError(400, 'no_body', 'the request has no body: send a JPEG or PNG image');
    if (r.uploadType === 'multipart') {
      const img = await imageFromMultipart(body, r.contentType ?? '');
      if (img.byteLength === 0) throw new HttpError(400, 'no_body', 'the "image" field is empty');
      return img;
    }
    return body;
  });

  const il = imageLimits(r.limits);
  return timings.time('decode', async () => {
    try {
      probeImage(bytes, il, options);
      return await decodeImage(bytes, il, options);
    } catch (e) {
      throw asImageError(e);
    }
  });
}
