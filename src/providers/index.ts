// providers: the definition schema, the bundled catalogue and the registry that merges user files.
export type { ProviderDefinition } from './schema.ts';
export {
  ProviderRegistry, BUNDLED_DIR, type ProviderEntry, type ProviderSource, type ProviderFileProblem, type ProviderFileWarning, type RegisteredProvider,
} from './registry.ts';
export { loadProviderFile, parseProviderText, checkProviderFile, checkProviderText, validateProviderDefinition, type CheckedDefinition } from './load.ts';
export type { UnknownField } from './known-fields.ts';
export { expandUrl, missingPlaceholder, hostOf, TENANT_PATTERN, type UrlValues, type UrlPlaceholder } from './template.ts';
export { matchesKeyPattern, keyPatternProblem } from './key-pattern.ts';
export {
  routeTemplates, routePlaceholders, isTokenResponseValue, fillRoute, routeValue, parseRouteTarget, hostMatches, pathMatches, specificity, compareRank,
  describeTarget, type RouteTemplate, type RouteTarget, type RouteHostKind,
} from './route-rule.ts';
export { type HostScope } from './host-scope.ts';
