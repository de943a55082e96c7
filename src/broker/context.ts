// What every broker operation works with: settings, the vault, the provider registry, the
// audit and debug logs, and the active profile. Built once per Authsome instance.
import { join } from 'node:path';
import { AuditLog, DebugLog, redactor, silentLog } from '../audit/index.ts';
import { ProviderRegistry } from '../providers/index.ts';
import { AuthsomeError, requireName, writeFailureCode, type Environment, type Settings } from '../util/index.ts';
import { DEFAULT_PROFILE, homeSafetyProblem, requireSafeHome, Vault } from '../vault/index.ts';

/** What a profile view shares with the context it came from. */
interface SharedParts {
  vault: Vault;
  registry: ProviderRegistry;
  audit: AuditLog;
}

export class BrokerContext {
  readonly #vault: Vault;
  readonly #registry: ProviderRegistry;
  readonly #audit: AuditLog;
  /**
   * Told of what a caller should know although the operation itself went through: an audit entry
   * that could not be written, renewed tokens kept in a rescue file. The door decides where it
   * goes (the CLI prints `Warning: …`); by default nowhere.
   */
  onWarning: (message: string) => void = () => {};
  #profile: string | undefined;
  #auditFailed = false;

  /**
   * @param env where provider-named variables are read (client.client_id_env, api_key.env_var):
   * the door passes its environment in, so no room reads process.env itself.
   */
  constructor(readonly settings: Settings, readonly log: DebugLog = silentLog, readonly env: Environment = {}, shared?: SharedParts) {
    this.#vault = shared?.vault ?? new Vault({
      home: settings.home,
      secrets: { masterKey: settings.masterKey, passphrase: settings.passphrase },
      storeUrl: settings.storeUrl,
      onSecret: (value) => redactor.register(value),
    });
    this.#registry = shared?.registry ?? new ProviderRegistry({ userDir: this.#vault.home.providersDir });
    this.#audit = shared?.audit ?? new AuditLog(join(settings.home, 'audit.log'));
    this.#profile = settings.profile;
    if (settings.masterKey) redactor.register(settings.masterKey);
    if (settings.passphrase) redactor.register(settings.passphrase);
    log.debug(`home ${settings.home}`, { profile: settings.profile ?? '(config default)', master_key_env: Boolean(settings.masterKey) });
  }

  /**
   * The same home, store and catalogue seen from another profile (the dashboard shows one
   * profile's connections at a time): nothing is opened twice, and closing it is the owner's job.
   */
  withProfile(profile: string): BrokerContext {
    const view = new BrokerContext({ ...this.settings, profile: requireName('profile', profile) }, this.log, this.env, { vault: this.#vault, registry: this.#registry, audit: this.#audit });
    view.onWarning = (message) => this.onWarning(message);
    return view;
  }

  // Everything that reads or writes the home goes through these three: each first makes sure the
  // home is the user's own (home-safety.ts; two stat calls, once per process).
  get vault(): Vault {
    requireSafeHome(this.settings.home);
    return this.#vault;
  }

  get registry(): ProviderRegistry {
    requireSafeHome(this.settings.home);
    return this.#registry;
  }

  get audit(): AuditLog {
    requireSafeHome(this.settings.home);
    return this.#audit;
  }

  get home() {
    return this.vault.home;
  }

  /** Why the home must not be used (another user's, writable by others), or null; for doctor, which reports it. */
  homeProblem(): AuthsomeError | null {
    return homeSafetyProblem(this.settings.home);
  }

  /** Closes the store, if one was opened (never refused: closing reads nothing). */
  close(): Promise<void> {
    return this.#vault.close();
  }

  /** The active profile: explicit (flag, env, option) or config.json's default_profile. */
  get profile(): string {
    // Checked wherever it came from (flag, AUTHSOME_PROFILE, option, config.json): it names a folder and prefixes every key.
    this.#profile ??= this.home.readConfig().default_profile || DEFAULT_PROFILE;
    return requireName('profile', this.#profile);
  }

  /** Reads need the profile to exist (the default one is implicitly empty until first use). */
  requireProfileForRead(): string {
    const profile = this.profile;
    // A shared store may hold a profile another machine created: there, reads of it just find what is there.
    if (profile !== DEFAULT_PROFILE && !this.home.profileExists(profile) && this.vault.backend().kind === 'sqlite') {
      throw new AuthsomeError('profile_not_found', `profile "${profile}" does not exist`, {
        hint: `Create it with \`authsome profile create ${profile}\`, or list profiles with \`authsome profile list\`.`,
      });
    }
    return profile;
  }

  /**
   * Appends to the audit log. A log that cannot be written (a read-only home, a full disk) never
   * fails or replaces the outcome of what it records, which has already happened: it is a warning,
   * given once per process.
   */
  auditEvent(event: string, fields: Record<string, unknown> = {}): void {
    try {
      this.audit.append(event, fields);
    } catch (error) {
      if (this.#auditFailed) return;
      this.#auditFailed = true;
      const cause = (error as { cause?: unknown }).cause ?? error;
      this.onWarning(`could not write the audit log ${this.audit.path} (${writeFailureCode(cause)}); this ${event} is not recorded there`);
    }
  }
}

/** The one name rule (util/names.ts), for the broker's modules. */
export { requireName } from '../util/index.ts';
