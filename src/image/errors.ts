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
 * model (a few MB of int8 weights + activation arena), Hono, the request body and V8's
 * own overhead: one image decode gets an estimated 48 MiB of live buffers.
 *
 * - maxMemoryMB 48 is the binding limit for JPEG. jpeg-js is memory hungry: it keeps
 *   every 8x8 coefficient block as its own Int32Array(64) (256 B payload + ~250 B of V8
 *   object/backing-store overhead; ~470-560 B RSS per block measured in Node 20), then
 *   full-size component planes, an interleaved copy, and the output. The estimate
 *   (estimateJpegDecodeBytes) is ~20 B/pixel for 4:2:0 and ~35 B/pixel for 4:4:4, and
 *   the measured peak RSS growth of a decode in Node 20 is 1.1-1.7x the estimate
 *   (garbage not yet collected): 1920x1080 4:2:0 estimate 40 MiB / peak +70 MB;
 *   2000x1500 4:2:0 58 / +90; 1920x1080 4:4:4 70 / +99; 4000x3000 4:2:0 231 / +245.
 *   With 48 MiB the largest JPEG accepted is ~2.4 MP at 4:2:0 (1080p passes, 2048x1536
 *   does not) and ~1.4 MP at 4:4:4; 12 MP phone photos are rejected with 413. Lifting
 *   that needs a JPEG decoder that does not keep all coefficients as objects (or that
 *   decodes at 1/2..1/8 scale in the DCT domain), not a bigger number here.
 *   PNG is cheaper: inflated scanlines (the file's bytes per pixel) plus a 3 B/pixel RGB
 *   result unless converted in place, so up to ~16 MP for 8-bit RGB.
 * - maxPixels 24e6 (24 MP): a format-independent cap on the claimed dimensions. A decoded
 *   RGBA 20 MP image alone would be 80 MB, so nothing above this could ever fit; it also
 *   keeps all size arithmetic far inside 2^53 and rejects decompression bombs (e.g. a
 *   60000x60000 SOF) without any allocation. Callers with more memory (CLI, Node) can
 *   raise both limits.
 * - maxProgressiveScans 32: libjpeg's default progressive script has 10 scans (6 for
 *   grayscale), mozjpeg/Photoshop stay well below 32. jpeg-js has no cap and each scan
 *   walks every block of its components, so a crafted file with hundreds of tiny scans
 *   multiplies CPU time. Exceeding it is a resource-limit violation: 413.
 */
export const DEFAULT_IMAGE_LIMITS: ImageLimits = Object.freeze({
  maxPixels: 24_000_000,
  maxMemoryMB: 48,
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
