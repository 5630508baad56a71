// Entry point of the engine's WebAssembly module: every kernel the engine calls.
// All pointers are byte offsets into this module's linear memory, which the JS
// side (src/engine) manages above heapBase().
export * from './requant';
export * from './memory';
export * from './elementwise';
export * from './pool';
export * from './softmax';
export * from './float';
export * from './conv';
export * from './depthwise';
export * from './movenet';
export * from './int16';
export * from './conv_rows';
