// providers: the definition schema, the bundled catalogue and the registry that merges user files.
export type { ProviderDefinition } from './schema.ts';
export { ProviderRegistry, BUNDLED_DIR, type ProviderEntry, type ProviderSource, type ProviderFileProblem } from './registry.ts';
export { loadProviderFile, parseProviderText, validateProviderDefinition } from './load.ts';
export { expandUrl, hostOf } from './template.ts';
