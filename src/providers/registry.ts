// The provider registry: the bundled catalogue plus user files in <home>/providers, where a user
// file wins over a bundled one of the same name. Bundled files are validated by the test suite,
// so reading them costs no schema work at run time; user files are validated on load.
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuthsomeError, ensurePrivateDir, requireName, writePrivateFile } from '../util/index.ts';
import type { UnknownField } from './known-fields.ts';
import { checkProviderFile, checkProviderText, loadProviderFile, validateProviderDefinition } from './load.ts';
import type { ProviderDefinition } from './schema.ts';

export type ProviderSource = 'bundled' | 'custom';

export interface ProviderEntry {
  definition: ProviderDefinition;
  source: ProviderSource;
  path: string;
  /** A custom file that replaces a bundled definition of the same name. */
  overridesBundled: boolean;
}

export interface ProviderFileProblem {
  path: string;
  error: AuthsomeError;
}

/** A user file that loads, but carries fields no schema knows (reported, never silently ignored). */
export interface ProviderFileWarning {
  path: string;
  unknownFields: UnknownField[];
}

/** What `register` installed, and the fields in it that nothing reads. */
export interface RegisteredProvider extends ProviderEntry {
  unknownFields: UnknownField[];
}

export interface RegisterOptions {
  /** Replace a custom definition, override a bundled one, or take a name that still holds records. */
  force?: boolean;
  /**
   * Told the name of a new provider before it is installed; throws to refuse it. The registry knows
   * files only: the broker uses this to refuse a name whose records are still stored.
   */
  claim?: (name: string, forceHint: (what: string) => string) => Promise<void>;
}

// Resolved from this file in src/ and dist/, and from the single-file CLI bundle in dist/cli/.
export const BUNDLED_DIR = fileURLToPath(new URL('../providers/bundled/', import.meta.url));
const EXTENSIONS = ['.json', '.jsonc'];

export class ProviderRegistry {
  readonly #userDir: string;
  readonly #bundledDir: string;

  constructor(options: { userDir: string; bundledDir?: string }) {
    this.#userDir = options.userDir;
    this.#bundledDir = options.bundledDir ?? BUNDLED_DIR;
  }

  /** One provider by name; null when neither a user file nor a bundled one exists. */
  async get(name: string): Promise<ProviderEntry | null> {
    const userPath = this.#userPath(name);
    const bundledPath = this.#bundledPath(name);
    if (userPath) {
      const definition = await loadProviderFile(userPath);
      if (definition.name !== name) {
        throw new AuthsomeError('provider_invalid', `${userPath}: name: "${definition.name}" does not match the file name`, {
          hint: `Rename the file to ${definition.name}.json, or set "name": "${name}".`,
          provider: name,
        });
      }
      return { definition, source: 'custom', path: userPath, overridesBundled: bundledPath !== null };
    }
    if (bundledPath) return { definition: readBundled(bundledPath), source: 'bundled', path: bundledPath, overridesBundled: false };
    return null;
  }

  async require(name: string): Promise<ProviderEntry> {
    const entry = await this.get(name);
    if (entry) return entry;
    throw new AuthsomeError('provider_not_found', `provider "${name}" was not found`, {
      hint: 'Run `authsome list` to see known providers, or `authsome register <file>` to add one.',
      provider: name,
    });
  }

  /** Every provider, sorted by name; broken user files and unknown fields are returned beside, not thrown. */
  async all(): Promise<{ entries: ProviderEntry[]; problems: ProviderFileProblem[]; warnings: ProviderFileWarning[] }> {
    const byName = new Map<string, ProviderEntry>();
    for (const { path, definition } of readBundledFolder(this.#bundledDir)) {
      byName.set(definition.name, { definition, source: 'bundled', path, overridesBundled: false });
    }
    const problems: ProviderFileProblem[] = [];
    const warnings: ProviderFileWarning[] = [];
    for (const path of listFiles(this.#userDir)) {
      try {
        const { definition, unknownFields } = await checkProviderFile(path);
        byName.set(definition.name, { definition, source: 'custom', path, overridesBundled: byName.has(definition.name) });
        if (unknownFields.length > 0) warnings.push({ path, unknownFields });
      } catch (error) {
        problems.push({ path, error: error as AuthsomeError });
      }
    }
    const entries = [...byName.values()].sort((a, b) => a.definition.name.localeCompare(b.definition.name));
    return { entries, problems, warnings };
  }

  /**
   * Validates a file and installs it as <home>/providers/<name>.<ext> (0600). Unknown fields do not
   * stop it (Python definitions may carry their own); they are returned for the caller to report.
   */
  async register(file: string, options: RegisterOptions = {}): Promise<RegisteredProvider> {
    const { definition, unknownFields } = await checkProviderFile(file);
    const force = (what: string) => `Pass --force to ${what}: authsome register ${file} --force`;
    await this.#claim(definition.name, options, force);
    return { ...this.#install(definition, readFileSync(file), file.endsWith('.jsonc') ? '.jsonc' : '.json', options, force), unknownFields };
  }

  /**
   * Validates a pasted definition (JSON or JSONC; errors name `label`) and installs it like a
   * registered file (the dashboard's "register a provider").
   */
  async registerText(text: string, options: RegisterOptions & { label?: string; forceHint?: (what: string) => string } = {}): Promise<RegisteredProvider> {
    const { definition, unknownFields } = await checkProviderText(text, options.label ?? 'definition');
    let plainJson = true;
    try {
      JSON.parse(text);
    } catch {
      plainJson = false;
    }
    const force = options.forceHint ?? ((what: string) => `Register it again with force to ${what}.`);
    await this.#claim(definition.name, options, force);
    return { ...this.#install(definition, Buffer.from(text, 'utf8'), plainJson ? '.json' : '.jsonc', options, force), unknownFields };
  }

  /** A new name (no file, not bundled) registered without force must also be free in the store: see RegisterOptions.claim. */
  async #claim(name: string, options: RegisterOptions, forceHint: (what: string) => string): Promise<void> {
    if (options.force || this.#userPath(name) || this.#bundledPath(name)) return;
    await options.claim?.(name, forceHint);
  }

  #install(definition: ProviderDefinition, bytes: Buffer, extension: string, options: { force?: boolean }, forceHint: (what: string) => string): ProviderEntry {
    const name = definition.name;
    const existing = this.#userPath(name);
    const bundled = this.#bundledPath(name);
    if ((existing || bundled) && !options.force) {
      const what = existing ? `a custom provider "${name}" is already registered (${existing})` : `"${name}" is a bundled provider`;
      throw new AuthsomeError('conflict', `${what}; nothing was changed`, {
        hint: forceHint(existing ? 'replace it' : 'override the bundled definition'),
        provider: name,
      });
    }
    ensurePrivateDir(this.#userDir);
    const target = join(this.#userDir, name + extension);
    writePrivateFile(target, bytes);
    for (const path of EXTENSIONS.map((ext) => join(this.#userDir, name + ext))) if (path !== target) rmSync(path, { force: true });
    return { definition, source: 'custom', path: target, overridesBundled: bundled !== null };
  }

  /**
   * Installs a definition built at run time (derived from an MCP server's metadata) as
   * <home>/providers/<name>.json, after the same validation a registered file gets.
   */
  async save(definition: ProviderDefinition): Promise<ProviderEntry> {
    const checked = await validateProviderDefinition(definition, `derived definition "${definition.name}"`);
    ensurePrivateDir(this.#userDir);
    const target = join(this.#userDir, checked.name + '.json');
    writePrivateFile(target, JSON.stringify(checked, null, 2) + '\n');
    return { definition: checked, source: 'custom', path: target, overridesBundled: this.#bundledPath(checked.name) !== null };
  }

  /** The custom definition files of a provider in <home>/providers/ (normally one). */
  customFiles(name: string): string[] {
    return EXTENSIONS.map((ext) => join(this.#userDir, requireName('provider', name) + ext)).filter((path) => existsSync(path));
  }

  isBundled(name: string): boolean {
    return this.#bundledPath(name) !== null;
  }

  /** Deletes a provider's custom definition files and returns them; a bundled one of the same name shows again. */
  removeCustom(name: string): string[] {
    const paths = this.customFiles(name);
    for (const path of paths) rmSync(path);
    return paths;
  }

  // Every path is built from a checked name: a name is never a path ("../x"), and an invalid one
  // is refused before any file is looked at, so no answer tells whether some file exists.
  #userPath(name: string): string | null {
    return firstExisting(EXTENSIONS.map((ext) => join(this.#userDir, requireName('provider', name) + ext)));
  }

  #bundledPath(name: string): string | null {
    return firstExisting([join(this.#bundledDir, requireName('provider', name) + '.json')]);
  }
}

function readBundled(path: string): ProviderDefinition {
  return JSON.parse(readFileSync(path, 'utf8')) as ProviderDefinition;
}

/**
 * The name of the file the build writes into the bundled folder with every definition in it, by
 * file name (scripts/build.mjs): `list` and the dashboard read one file instead of one per provider
 * (issue 18). A folder without it (src/ under tsx) is read file by file.
 */
export const BUNDLED_CATALOGUE = '.catalogue.json';

function readBundledFolder(dir: string): Array<{ path: string; definition: ProviderDefinition }> {
  let catalogue: Record<string, ProviderDefinition> | null = null;
  try {
    catalogue = JSON.parse(readFileSync(join(dir, BUNDLED_CATALOGUE), 'utf8')) as Record<string, ProviderDefinition>;
  } catch {
    // none (or unreadable): the files themselves
  }
  if (catalogue) return Object.keys(catalogue).sort().map((file) => ({ path: join(dir, file), definition: catalogue[file]! }));
  return listFiles(dir).map((path) => ({ path, definition: readBundled(path) }));
}

function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => EXTENSIONS.some((ext) => name.endsWith(ext)) && !name.startsWith('.'))
    .sort()
    .map((name) => join(dir, name));
}

function firstExisting(paths: string[]): string | null {
  return paths.find((path) => existsSync(path)) ?? null;
}

