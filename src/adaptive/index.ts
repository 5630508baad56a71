// Adaptive inference (cascades over a model ladder), runtime-neutral: used by the Worker
// (src/worker/adaptive.ts) and by the Node scripts (scripts/adaptive/). Fitting lives in fit.ts.
export * from './calibration';
export * from './ladder';
export * from './cascade';
export * from './streams';
