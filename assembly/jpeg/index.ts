// Entry point of build/jpeg.wasm: a baseline + progressive JPEG decoder with DCT-domain
// downscaling (1/1, 1/2, 1/4, 1/8), used by src/image/wasmjpeg.ts. Separate from the
// inference engine's module (assembly/index.ts) so that each can be instantiated alone.
//
// Protocol (all pointers are offsets into this module's memory):
//   reset(limitBytes)            new decode; the arena may grow to limitBytes
//   p = allocInput(n)                room for the input (0 = over the limit), JS copies it in
//   rc = parseHeader(p, n)       markers up to the first SOS; frame*() describe the image
//   planBytes(scaleLog2)         arena bytes decode() will add (for the memory check)
//   rc = decode(scaleLog2, maxScans)
//   outPtr(), outWidth(), outHeight(): packed RGB result
// rc: 0 = OK, else an error code (see decoder.ts).
export {
  heapBase, reset, allocInput, arenaPeakBytes, parseHeader, planBytes, decode,
  frameWidth, frameHeight, frameComponents, frameProgressive, frameColorMode, frameSampling,
  outPtr, outWidth, outHeight,
} from './decoder';
// the IDCT kernels and their scalar (jidctint.c / jidctred.c) references, for tests
export { idct8, idct4, idct2, idct8Scalar, idct4Scalar, idct2Scalar } from './idct';
