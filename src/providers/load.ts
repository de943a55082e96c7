// Reads one provider file (JSON or JSONC) and validates it against the schema. Errors name the
// file, the field and the problem, so a user can fix a definition without reading our code.
import { readFileSync } from 'node:fs';
import { AuthsomeError } from '../util/index.ts';
import type { ProviderDefinition } from './schema.ts';

export async function loadProviderFile(path: string): Promise<ProviderDefinition> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AuthsomeError('provider_invalid', `cannot read provider file ${path} (${(error as NodeJS.ErrnoException).code ?? error})`);
  }
  return parseProviderText(text, path);
}

export async function parseProviderText(text: string, path: string): Promise<ProviderDefinition> {
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
  return validateProviderDefinition(raw, path);
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
