// Errors, limits and shared types of the image pipeline (src/image).
// Kept in a leaf module so that jpeg.ts / png.ts / index.ts can share them
// without import cycles. index.ts re-exports everything public.

export type ImageFormat = 'jpeg' | 'png';

export type ImageErrorCode = 'unsupported_media_type' | 'image_too_large' | 'undecodable_image';
export type ImageErrorStatus = 415 | 413 | 422;

/**
 * The only error type the image pipeline throws for bad input.
 * - 415 unsupported_media_type: the bytes are neither JPEG nor PNG (sniffed, the
 *   Content-Type header is never trusted).
 * - 413 image_too_large: a resource limit of {@link ImageLimits} would be exceeded
 *   (pixel count, estimated decode memory, progressive JPEG scan count).
 * - 422 undecodable_image: JPEG/PNG that is malformed, truncated, corrupt or uses a
 *   feature we do not decode (arithmetic/lossless JPEG, 12-bit JPEG, 2-component JPEG,
 *   CMYK JPEG without an Adobe marker...). Every decoder exception is wrapped into it.
 */
export class ImageError extends Error {
  readonly code: ImageErrorCode;
  readonly status: ImageErrorStatus;
  constructor(code: ImageErrorCode, status: ImageErrorStatus, message: string) {
    super(message);
    this.name = 'ImageError';
    this.code = code;
    this.status = status;
  }
}

export function unsupported(message: string): ImageError {
  return new ImageError('unsupported_media_type', 415, message);
}
export function tooLarge(message: string): ImageError {
  return new ImageError('image_too_large', 413, message);
}
export function undecodable(message: string): ImageError {
  return new ImageError('undecodable_image', 422, message);
}

/** Wrap anything thrown by a decoder into an ImageError 422 (ImageErrors pass through). */
export function wrapDecoderError(err: unknown, what: string): ImageError {
  if (err instanceof ImageError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return undecodable(`${what}: ${msg}`);
}

export interface ImageLimits {
  /** Max width*height as declared by the header (checked before any decoding). */
  maxPixels: number;
  /**
   * Max estimated peak working memory of one decode, in MiB (1 MiB = 2^20 bytes):
   * decoder buffers + the RGB result + the EXIF rotation copy. Estimated from the
   * header only (see estimateJpegDecodeBytes / estimatePngDecodeBytes), so the
   * check happens in probeImage, before anything big is allocated. Also handed to
   * jpeg-js as its own maxMemoryUsageInMB backstop.
   */
  maxMemoryMB: number;
  /** Max number of SOS markers (scans) in a JPEG; each scan costs a pass over all blocks. */
  maxProgressiveScans: number;
}

/**
 * Defaults sized for a 128 MB Workers isolate that also holds the WASM engine, the
 * model (a few MB of int8 weights + activation arena), Hono and the request body:
 * we give one image decode ~64 MiB.
 *
 * - maxMemoryMB 64 is the binding limit. jpeg-js is memory hungry: it keeps every
 *   8x8 coefficient block as its own Int32Array(64) (256 B payload + ~250 B of V8
 *   object/backing-store overhead; measured ~470-560 B RSS per block in Node 20),
 *   then full-size component planes, then an interleaved copy, then the output. We
 *   estimate ~20 B/pixel for 4:2:0 and ~32 B/pixel for 4:4:4 JPEGs (measured peak RSS
 *   over baseline: 12 MP 4:2:0 ~250 MB, 12 MP 4:4:4 ~420 MB). So with 64 MiB the
 *   largest JPEG we accept is ~3.1 MP at 4:2:0 (2048x1536 passes) and ~2 MP at 4:4:4.
 *   1080p (2 MP) photos pass; 12 MP phone photos are rejected with 413.
 *   PNG is cheaper: inflated scanlines (bytes per pixel of the file) plus a 3 B/pixel
 *   RGB result unless converted in place, so up to ~16-21 MP for 8-bit RGB(A).
 * - maxPixels 24e6 (24 MP): a hard cap on the claimed dimensions regardless of
 *   format. A decoded RGBA 20 MP image alone would be 80 MB, so nothing above this
 *   could ever fit; it also keeps all size arithmetic far inside 2^53 and rejects
 *   decompression bombs (e.g. a 60000x60000 SOF) without any allocation.
 * - maxProgressiveScans 32: libjpeg's default progressive script has 10 scans (6 for
 *   grayscale), mozjpeg/Photoshop stay well below 32. jpeg-js has no cap and each scan
 *   walks every block of its components, so a crafted file with hundreds of tiny scans
 *   multiplies CPU time. Exceeding it is a resource-limit violation: 413.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({
  maxPixels: 24_000_000,
  maxMemoryMB: 64,
  maxProgressiveScans: 32,
});

export interface ImageInfo {
  format: ImageFormat;
  /** Width after applying the EXIF orientation (swapped for orientations 5..8). */
  width: number;
  /** Height after applying the EXIF orientation. */
  height: number;
  /** EXIF orientation 1..8, 1 if absent or invalid. */
  orientation: number;
}

export interface DecodedImage {
  format: ImageFormat;
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major, AFTER applying EXIF orientation. Length width*height*3
   *  (may be a view at byteOffset 0 of a slightly larger buffer for in-place decoded PNGs). */
  data: Uint8Array;
}

export const MIB = 1024 * 1024;

export function checkLimits(limits: ImageLimits): void {
  if (
    !(limits.maxPixels > 0) ||
    !(limits.maxMemoryMB > 0) ||
    !(limits.maxProgressiveScans >= 1) ||
    !Number.isFinite(limits.maxPixels) ||
    !Number.isFinite(limits.maxMemoryMB)
  ) {
    throw new RangeError('invalid ImageLimits');
  }
}
