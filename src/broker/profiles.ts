// Profiles: separate sets of connections (e.g. work and personal) in one home.
import { AuthsomeError } from '../util/index.ts';
import { DEFAULT_PROFILE, type ProfileMetadata } from '../vault/index.ts';
import { requireName, type BrokerContext } from './context.ts';

export interface ProfileInfo {
  name: string;
  description: string | null;
  created_at: string | null;
  default: boolean;
  active: boolean;
}

export async function listProfiles(ctx: BrokerContext): Promise<ProfileInfo[]> {
  const config = ctx.home.readConfig();
  // A shared store also holds profiles other machines created.
  const names = new Set(await ctx.vault.profiles());
  names.add(config.default_profile || DEFAULT_PROFILE);
  return [...names].sort().map((name) => {
    const metadata: ProfileMetadata | null = ctx.home.readProfileMetadata(name);
    return {
      name,
      description: metadata?.description ?? null,
      created_at: metadata?.created_at ?? null,
      default: name === config.default_profile,
      active: name === ctx.profile,
    };
  });
}

export function createProfile(ctx: BrokerContext, name: string, description: string | null = null): ProfileInfo {
  requireName('profile', name);
  if (ctx.home.profileExists(name)) {
    throw new AuthsomeError('conflict', `profile "${name}" already exists`, { hint: `Switch to it with \`authsome profile use ${name}\`.` });
  }
  ctx.home.ensureProfile(name, description);
  ctx.auditEvent('profile_create', { profile: name, status: 'success' });
  return { name, description, created_at: ctx.home.readProfileMetadata(name)?.created_at ?? null, default: false, active: false };
}

/** Makes a profile the default in config.json (keeping every other key of the file). */
export function useProfile(ctx: BrokerContext, name: string): void {
  requireName('profile', name);
  if (!ctx.home.profileExists(name) && name !== DEFAULT_PROFILE) {
    throw new AuthsomeError('profile_not_found', `profile "${name}" does not exist`, { hint: `Create it first: authsome profile create ${name}` });
  }
  ctx.home.ensureProfile(name);
  const config = ctx.home.readConfig();
  ctx.home.writeConfig({ ...config, default_profile: name });
  ctx.auditEvent('profile_use', { profile: name, status: 'success' });
}
