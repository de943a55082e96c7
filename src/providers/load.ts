// Reads one provider file (JSON or JSONC) and validates it against the schema. Errors name the
// file, the field and the problem, so a user can fix a definition without reading our code;
// fields no schema knows are returned beside the definition, to be reported as warnings.
import { readFileSync } from 'node:fs';
import { AuthsomeError } from '../util/index.ts';
import type { UnknownField } from './known-fields.ts';
import type { ProviderDefinition } from './schema.ts';

export interface CheckedDefinition {
  definition: ProviderDefinition;
  /** Fields neither our schema nor the Python authsome's models declare: kept, not used, to be reported. */
  unknownFields: UnknownField[];
}

export async function loadProviderFile(path: string): Promise<ProviderDefinition> {
  return validateProviderDefinition(await parseJsonc(readText(path), path), path);
}

export async function parseProviderText(text: string, path: string): Promise<ProviderDefinition> {
  return validateProviderDefinition(await parseJsonc(text, path), path);
}

/** A file as `register` and `doctor` read it: validated, with the fields no schema knows. */
export async function checkProviderFile(path: string): Promise<CheckedDefinition> {
  return checkProviderText(readText(path), path);
}

/** Pasted text as the dashboard's "register a provider" reads it: validated, with the fields no schema knows. */
export async function checkProviderText(text: string, path: string): Promise<CheckedDefinition> {
  const raw = await parseJsonc(text, path);
  const definition = await validateProviderDefinition(raw, path);
  // The key pattern is compiled with the engine login uses (RE2, linear time), so a pattern it
  // cannot run is refused when it is registered, not when someone first types a key.
  const pattern = definition.api_key?.key_pattern;
  if (pattern) {
    const { keyPatternProblem } = await import('./key-pattern.ts');
    const problem = await keyPatternProblem(pattern);
    if (problem) throw new AuthsomeError('provider_invalid', `${path}: api_key.key_pattern: ${problem}`, { hint: 'Write the pattern in RE2 syntax (what Python and JavaScript share, without lookaround or backreferences).' });
  }
  // Loaded only here: reading a definition to use it (every `get` of a custom provider) skips the walk.
  const { findUnknownFields } = await import('./known-fields.ts');
  return { definition, unknownFields: findUnknownFields(raw) };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new AuthsomeError('provider_invalid', `cannot read provider file ${path} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
}

async function parseJsonc(text: string, path: string): Promise<unknown> {
  const { parse, printParseErrorCode } = await import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  const raw: unknown = parse(text, errors, { allowTrailingComma: true, disallowComments: false });
  if (errors.length > 0) {
    const first = errors[0]!;
    const { line, column } = position(text, first.offset);
    throw new AuthsomeError('provider_invalid', `${path}:${line}:${column}: ${printParseErrorCode(first.error)}`, {
      hint: 'Provider files are JSON (comments and trailing commas allowed).',
    });
  }
  return raw;
}

export async function validateProviderDefinition(raw: unknown, path: string): Promise<ProviderDefinition> {
  const { providerSchema } = await import('./schema.ts');
  const result = providerSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(top level)'}: ${issue.message}`);
  throw new AuthsomeError('provider_invalid', `${path}: ${problems.join('; ')}`, {
    hint: 'See the provider file reference in the README; `authsome inspect github` shows a valid definition.',
  });
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}
