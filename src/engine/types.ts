// Public types of the engine, shared by the Worker, the CLI and tests.

export type DType = 'int8' | 'uint8' | 'float32' | 'int16' | 'int32';

/** How a photo's RGB pixel p (0..255) becomes the model's real-valued input:
 *  real = (p - mean[c]) / std[c]; the tensor value is then quantized with the
 *  tensor's scale and zero point (or used as is for float32). */
export interface PixelNormalization {
  mean: [number, number, number];
  std: [number, number, number];
}

export interface InputSpec {
  name: string;
  /** NHWC, batch 1: [1, height, width, channels] */
  shape: number[];
  dtype: DType;
  scale: number;
  zeroPoint: number;
  layout: 'NHWC';
  normalization: PixelNormalization;
}

export interface OutputSpec {
  name: string;
  shape: number[];
  dtype: DType;
  scale: number;
  zeroPoint: number;
  /** 'softmax' when the output is a probability distribution, 'logits' otherwise */
  kind: 'softmax' | 'logits' | 'other';
}

export type Output = Int8Array | Uint8Array | Float32Array;
