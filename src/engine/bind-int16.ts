// Kernel calls for the 16x8 ops (assembly/int16.ts; op table src/model/ops-int16.ts).
import type { MOp } from '../model/ops.ts';

type Kernel = (...args: number[]) => void;
type Call = (A: number, S: number) => void;

export const INT16_KINDS = new Set([
  'conv_i16', 'dw_i16', 'add_i16', 'maxpool_i16', 'avgpool_i16', 'mean_i16', 'softmax_i16', 'pad_i16',
  'requantize_i8_i16', 'requantize_i16_i8', 'quantize_f32_i16', 'dequantize_i16_f32',
]);

export function bindInt16Op(K: (name: string) => Kernel, op: MOp, p: Record<string, number>,
  t: (i: number) => number, w: (name: string) => number, i0: number, o0: number): Call {
  const geo = [p.kH!, p.kW!, p.sH!, p.sW!, p.dH!, p.dW!, p.padT!, p.padL!];
  switch (op.kind as string) {
    case 'conv_i16': {
      const pw = w('w'), q = w('q');
      if (p.fast) {
        const f = K('conv_i16');
        return (A, S) => f(A + i0, p.inH!, p.inW!, p.inC!, pw, q, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...geo, S);
      }
      const f = K('conv_i16_ref');
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, pw, q, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...geo);
    }
    case 'dw_i16': {
      const pw = w('w'), q = w('q');
      if (p.fast) {
        const f = K('dw_i16');
        return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, pw, q, A + o0, p.outH!, p.outW!, p.actMin!, p.actMax!, ...geo);
      }
      const f = K('dw_i16_ref');
      return (A) => f(A + i0, p.inH!, p.inW!, p.inC!, pw, p.depthMult!, q, A + o0, p.outH!, p.outW!, p.outC!, p.actMin!, p.actMax!, ...geo);
    }
    case 'add_i16': {
      const f = K('add_i16'), i1 = t(op.in[1]!);
      return (A) => f(A + i0, A + i1, A + o0, p.n!, p.aOffset!, p.aMult!, p.aShift!, p.bOffset!, p.bMult!, p.bShift!, p.leftShift!,
        p.outMult!, p.outShift!, p.outOffset!, p.actMin!, p.actMax!);
    }
    case 'maxpool_i16': {
      const f = K('maxpool_i16');
      return (A) => f(A + i0, p.inH!, p.inW!, p.c!, A + o0, p.outH!, p.outW!, p.fH!, p.fW!, p.sH!, p.sW!, p.padT!, p.padL!, p.actMin!, p.actMax!);
    }
    case 'avgpool_i16': {
      const f = K('avgpool_i16');
      return (A, S) => f(A + i0, p.inH!, p.inW!, p.c!, A + o0, p.outH!, p.outW!, p.fH!, p.fW!, p.sH!, p.sW!, p.padT!, p.padL!, p.actMin!, p.actMax!, S);
    }
    case 'mean_i16': {
      const f = K('mean_hw_i16');
      return (A, S) => f(A + i0, p.h!, p.w!, p.c!, A + o0, p.mult!, p.shift!, S);
    }
    case 'softmax_i16': {
      const f = K('softmax_i16'), lut = w('lut');
      return (A) => f(A + i0, A + o0, p.outer!, p.depth!, p.mult!, p.shift!, lut);
    }
    case 'pad_i16': {
      const f = K('pad_i16');
      return (A) => f(A + i0, A + o0, p.h!, p.w!, p.c!, p.ph0!, p.ph1!, p.pw0!, p.pw1!, p.pc0!, p.pc1!);
    }
    case 'requantize_i8_i16':
    case 'requantize_i16_i8': {
      const f = K(op.kind);
      return (A) => f(A + i0, A + o0, p.n!, p.inZp!, p.mult!, p.shift!, p.outZp!);
    }
    case 'quantize_f32_i16':
    case 'dequantize_i16_f32': {
      const f = K(op.kind);
      return (A) => f(A + i0, A + o0, p.n!, p.scale!, p.zp!);
    }
    default:
      throw new Error(`unknown op kind ${String(op.kind)}`);
  }
}
