// Types of scripts/fuzz-images-cases.mjs (used by test/worker/*.test.ts).
export declare const ALLOWED_STATUSES: readonly number[];
export declare const HEADER_413_RE: RegExp;
export interface Rng {
  next(): number;
  int(lo: number, hi: number): number;
  pick<T>(arr: readonly T[]): T;
  chance(p: number): boolean;
  weighted<T>(pairs: readonly (readonly [number, T])[]): T;
}
export declare function rng(seed: number): Rng;
export declare function caseSeed(seed: number, index: number): number;
export declare function concat(parts: readonly Uint8Array[]): Uint8Array;
export declare function crc32(b: Uint8Array, start?: number, end?: number): number;
export declare const PNG_SIG: Uint8Array;
export declare function pngChunk(type: string, data: Uint8Array, opts?: { badCrc?: boolean }): Uint8Array;
export declare function ihdr(width: number, height: number, bitDepth?: number, colorType?: number, interlace?: number): Uint8Array;
export declare function makePng(width: number, height: number, opts?: { colorType?: number; bitDepth?: number; palette?: Uint8Array | null; extraChunks?: Uint8Array[] }): Promise<Uint8Array>;
export declare function makeInterlacedPng(width: number, height: number): Promise<Uint8Array>;
export declare function pngChunks(bytes: Uint8Array): { type: string; start: number; end: number }[];
export interface FlatJpegOptions {
  components?: { id: number; h: number; v: number }[];
  sof?: number;
  adobe?: number;
  precision?: number;
  extraScans?: number;
  maxDataBytes?: number;
}
export declare function flatJpeg(width: number, height: number, opts?: FlatJpegOptions): Uint8Array;
export declare function encodeJpeg(width: number, height: number, quality?: number): Uint8Array;
export declare function jpegSegments(bytes: Uint8Array): { marker: number; start: number; end: number }[];
export declare function exifApp1(opts?: { orientation?: number; little?: boolean; ifdOffset?: number; count?: number; type?: number; truncate?: number }): Uint8Array;
export interface ImageSample { name: string; bytes: Uint8Array }
export interface CraftedCase { name: string; bytes: Uint8Array; expect: number[]; contentType?: string | null; bomb: boolean }
export interface ImageCorpus {
  samples: (ImageSample & { format: 'jpeg' | 'png' })[];
  jpegs: (ImageSample & { format: 'jpeg' | 'png' })[];
  pngs: (ImageSample & { format: 'jpeg' | 'png' })[];
  crafted: CraftedCase[];
}
export declare function buildImageCorpus(samples: ImageSample[]): Promise<ImageCorpus>;
export interface ImageCase {
  index: number;
  kind: string;
  name: string;
  path: string;
  /** null: send no Content-Type */
  contentType: string | null;
  body: Uint8Array;
  expect?: number[];
  bomb: boolean;
}
export declare function imageCase(corpus: ImageCorpus, seed: number, index: number): ImageCase;
export declare function checkImageAnswer(c: ImageCase, status: number, json: unknown, contentTypeHeader: string | null): string[];
