// `doctor`: checks the home layout, permissions, master key, every store and every record, and
// the provider files. Each finding says what is wrong and the command that fixes it.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileMode, notWritableError, toAuthsomeError, writeProblem } from '../util/index.ts';
import { describeKeySource, parseKey, parseRecord, type ConnectionRecord, type StoreProbe } from '../vault/index.ts';
import type { BrokerContext } from './context.ts';
import { lapseWarning } from './refresh-policy.ts';

export interface Finding {
  check: string;
  status: 'ok' | 'warning' | 'error';
  message: string;
  fix?: string;
}

export interface DoctorReport {
  home: string;
  healthy: boolean;
  /** The store backend, its version and one round trip's latency (null when it could not be reached). */
  store?: StoreProbe | null;
  findings: Finding[];
}

export async function doctor(ctx: BrokerContext): Promise<DoctorReport> {
  // Another user's home, or one others can write, is reported and not looked into any further.
  const unsafe = ctx.homeProblem();
  if (unsafe) {
    return { home: ctx.settings.home, healthy: false, findings: [{ check: 'owner', status: 'error', message: unsafe.message, ...(unsafe.hint ? { fix: unsafe.hint } : {}) }] };
  }
  const { home, vault } = ctx;
  const findings: Finding[] = [];
  const add = (finding: Finding) => findings.push(finding);
  const attempt = async (check: string, fn: () => Promise<Finding | void> | Finding | void) => {
    try {
      const finding = await fn();
      if (finding) add(finding);
      return true;
    } catch (error) {
      const failure = toAuthsomeError(error);
      add({ check, status: 'error', message: failure.message, ...(failure.hint ? { fix: failure.hint } : {}) });
      return false;
    }
  };

  if (!home.exists()) {
    add({ check: 'home', status: 'warning', message: `${home.root} does not exist yet`, fix: 'Run `authsome init` (or any login) to create it.' });
    return { home: home.root, healthy: true, findings };
  }
  add({ check: 'home', status: 'ok', message: home.root });
  add({ check: 'owner', status: 'ok', message: 'yours, and writable by nobody else' });
  const versionOk = await attempt('version', () => home.checkVersion());
  if (!versionOk) return { home: home.root, healthy: false, findings };

  checkModes(home.root, findings);
  checkWritable(home.root, findings);

  const configOk = await attempt('config', () => {
    const config = home.readConfig();
    return { check: 'config', status: 'ok', message: `default profile "${config.default_profile}", key source ${config.encryption.mode}` };
  });

  let store: StoreProbe | null = null;
  const storeOk = configOk && await attempt('store', async () => {
    store = await vault.backend().probe(ctx.profile);
    const name = store.backend === 'postgres' ? 'shared PostgreSQL store' : 'SQLite store';
    const latency = store.latency_ms === null ? '' : `, round trip ${store.latency_ms} ms`;
    return { check: 'store', status: 'ok', message: `${name} at ${store.location}: ${store.version}, schema ${store.schema_version}${latency}` };
  });
  if (configOk && !storeOk) return { home: home.root, healthy: false, store, findings };

  let keyOk = false;
  if (configOk) {
    keyOk = await attempt('master key', async () => {
      const ring = await vault.keyRing(false);
      if (!ring) return { check: 'master key', status: 'warning', message: 'no master key yet (the store is empty)', fix: 'Run `authsome init`.' };
      return { check: 'master key', status: 'ok', message: `from ${describeKeySource(ring.source)}` };
    });
  }
  if (existsSync(home.pendingMasterKeyFile)) {
    add({ check: 'rekey', status: 'warning', message: 'an interrupted rekey left master.key.next behind', fix: 'Run `authsome rekey` again to finish it.' });
  }

  for (const profile of await vault.profiles()) {
    const check = `profile ${profile}`;
    await attempt(check, async () => {
      const store = vault.store(profile);
      const entries = await store.list('');
      if (!keyOk) return { check, status: 'warning', message: `${entries.length} records not checked (no usable master key)` };
      // One pass: every row must decrypt, and every row in the key namespace must parse as its record kind.
      let bad = 0;
      for (const { key, value } of entries) {
        try {
          const plaintext = await vault.decrypt(key, value);
          const parsed = parseKey(key);
          const record = parsed ? parseRecord(parsed.kind, key, plaintext) : null;
          // A grant about to lapse is said here too: doctor is where a person looks before it does.
          const lapse = parsed?.kind === 'connection' && record ? lapseWarning(record as ConnectionRecord, false) : null;
          if (lapse) add({ check: 'refresh token', status: 'warning', message: lapse.message, fix: lapse.fix.charAt(0).toUpperCase() + lapse.fix.slice(1) });
        } catch (error) {
          bad += 1;
          const failure = toAuthsomeError(error);
          add({ check, status: 'error', message: failure.message, ...(failure.hint ? { fix: failure.hint } : {}) });
        }
      }
      if (bad === 0) return { check, status: 'ok', message: `${entries.length} records readable` };
    });
  }

  await attempt('providers', async () => {
    const { entries, problems, warnings } = await ctx.registry.all();
    for (const problem of problems) add({ check: 'providers', status: 'error', message: problem.error.message, fix: problem.error.hint ?? 'Fix or delete the file.' });
    // A warning, not a failure: the file works, and a Python definition may carry fields of its own.
    for (const { path, unknownFields } of warnings) {
      for (const field of unknownFields) add({ check: 'providers', status: 'warning', message: `${path}: ${field.message}`, fix: `Correct or remove ${field.path} in ${path}.` });
    }
    const custom = entries.filter((e) => e.source === 'custom').length;
    return { check: 'providers', status: 'ok', message: `${entries.length} providers (${custom} custom)` };
  });

  return { home: home.root, healthy: !findings.some((f) => f.status === 'error'), store, findings };
}

/** Secret files must be 0600 and folders 0700 (store-format.md). */
function checkModes(root: string, findings: Finding[]): void {
  const wrong: string[] = [];
  const visit = (dir: string) => {
    if (fileMode(dir) !== 0o700) wrong.push(`chmod 700 ${dir}`);
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) visit(path);
      else if (entry.isFile() && ((fileMode(path) ?? 0) & 0o077) !== 0) wrong.push(`chmod 600 ${path}`);
    }
  };
  visit(root);
  if (wrong.length === 0) findings.push({ check: 'permissions', status: 'ok', message: 'folders 0700, files 0600' });
  else {
    const owner = statSync(root).uid;
    // Only the owner can tighten them: say so when that is not the user running doctor.
    const who = process.getuid && owner !== process.getuid() ? `as the home's owner (uid ${owner}): ` : '';
    const fix = who + (wrong.length <= 3 ? wrong.join('; ') : `chmod -R go-rwx ${root}`);
    findings.push({ check: 'permissions', status: 'error', message: `${wrong.length} path(s) open to other users`, fix });
  }
}

/**
 * A home this user cannot write (a read-only mount, another owner, a full disk) still serves
 * reads; only logins, refreshes and other writes fail. Said as a warning, with the cause.
 */
function checkWritable(root: string, findings: Finding[]): void {
  const problem = writeProblem(root);
  if (!problem) {
    findings.push({ check: 'writable', status: 'ok', message: 'the home can be written' });
    return;
  }
  const failure = notWritableError(root, problem);
  findings.push({
    check: 'writable', status: 'warning',
    message: `${root} is not writable here (${problem.code}): reads work (get, list, export, whoami); login, a due refresh and other writes fail with home_not_writable`,
    ...(failure.hint ? { fix: failure.hint } : {}),
  });
}
