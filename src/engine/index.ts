export { Engine, EngineError, type LoadedModel } from './engine.ts';
export type { InputSpec, OutputSpec, Output, DType, PixelNormalization } from './types.ts';
export { parseArtifact, ArtifactError, type ArtifactManifest, type ParsedArtifact } from '../model/artifact.ts';
