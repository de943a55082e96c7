// init's choice of key source for a home that has no key yet. The choice lives in config.json, and
// on a fresh home config.json is created exclusively: of processes that start together, the first
// one's key source and passphrase salt win, and every other process uses them (the key ring then
// checks its passphrase against the winner's check value) instead of writing its own.
import { AuthsomeError } from '../util/index.ts';
import { checkKeyring, defaultConfig, passphraseEncryption, type HomeConfig, type KeySourceName } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';

export interface KeySourceChoice {
  /** config.json existed before this init began (written by an earlier command that chose no key: it may be switched). */
  hadConfig: boolean;
  /** The source was asked for (--key-source), rather than taken from config.json's default. */
  explicit: boolean;
}

/** Records `wanted` as the key source of a home that has no key yet. */
export async function chooseKeySource(ctx: BrokerContext, wanted: KeySourceName, choice: KeySourceChoice): Promise<void> {
  const { home } = ctx;
  // Another process created config.json since this init looked: its choice stands (no salt of ours is needed).
  if (!choice.hadConfig && home.hasConfig()) return acceptChosen(ctx, wanted, choice);
  const encryption = await encryptionFor(ctx, wanted);
  if (!choice.hadConfig) {
    if (!home.createConfig({ ...defaultConfig(), encryption })) acceptChosen(ctx, wanted, choice);
    return;
  }
  const config = home.readConfig();
  if (config.encryption.mode === wanted && (wanted !== 'passphrase' || config.encryption['check'] !== undefined)) return;
  home.writeConfig({ ...config, encryption });
}

async function encryptionFor(ctx: BrokerContext, wanted: KeySourceName): Promise<HomeConfig['encryption']> {
  if (wanted === 'passphrase') {
    if (!ctx.settings.passphrase) throw new AuthsomeError('input_required', 'set AUTHSOME_PASSPHRASE to initialize a passphrase-protected store');
    return (await passphraseEncryption(ctx.settings.passphrase)).config;
  }
  if (wanted === 'keyring') {
    // Checked first, so a machine without a usable keyring fails before config.json names it. The
    // key itself is made when the key ring is first loaded for writing, unless the keyring holds one.
    await checkKeyring();
    return { mode: 'keyring' };
  }
  // master.key itself is created (exclusively) when the key ring is first loaded for writing.
  return { mode: 'local_key' };
}

/** The winner's config.json is used as it is; an explicit --key-source it does not match is refused. */
function acceptChosen(ctx: BrokerContext, wanted: KeySourceName, choice: KeySourceChoice): void {
  const chosen = ctx.home.readConfig().encryption.mode;
  if (chosen !== wanted && choice.explicit) {
    throw new AuthsomeError('conflict', `another process set up ${ctx.home.root} with the ${chosen} key source at the same moment`, {
      hint: 'Use that key source (run `authsome init` again without --key-source), or start a new AUTHSOME_HOME.',
    });
  }
}
