// Whether the home can be trusted before anything is read from it or written to it: it must belong
// to the user running authsome and be writable by nobody else, and its parent must not let every
// user replace it — the rule OpenSSH's StrictModes applies to ~/.ssh and gpg to ~/.gnupg (issue 14,
// item 13). A home another user controls could hand us their provider definitions (where tokens
// are sent), their master key (what we seal with), or a daemon socket that is theirs. Two stat
// calls, once per process and home: every command pays them at start-up.
import { statSync, type Stats } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname } from 'node:path';
import { AuthsomeError } from '../util/index.ts';

const safe = new Set<string>();

/** Throws home_insecure, with the exact command that fixes it, unless the home is safe to use. */
export function requireSafeHome(root: string): void {
  if (safe.has(root)) return;
  const problem = homeSafetyProblem(root);
  if (problem) throw problem;
  safe.add(root);
}

/** Why the home must not be used (home_insecure, with the fix as its hint), or null. */
export function homeSafetyProblem(root: string): AuthsomeError | null {
  // Windows has no uid or group/other mode bits to check; its ACLs are the profile folder's.
  if (!process.geteuid) return null;
  const home = statOrNull(root);
  if (home) {
    const me = process.geteuid();
    if (home.uid !== me) {
      const name = userName(me);
      return new AuthsomeError('home_insecure', `${root} belongs to uid ${home.uid}, not to you (${name}, uid ${me}); authsome uses only a home of your own, as ssh and gpg do, and read and wrote nothing there`, {
        // As root (sudo keeping HOME), "take it back" would hand another user's home to root.
        hint: me === 0
          ? `Run authsome as the user it belongs to (without sudo), or give root a home of its own: set AUTHSOME_HOME (or --home) to a folder root owns.`
          : `If it is yours, take it back: sudo chown -R ${name} ${quote(root)} && chmod 700 ${quote(root)}. Otherwise use a home of your own: set AUTHSOME_HOME (or --home) to a folder you own.`,
      });
    }
    if (home.mode & 0o022) {
      return new AuthsomeError('home_insecure', `${root} can be written by ${writers(home.mode)} (mode ${octal(home.mode)}), so someone else may have changed what is in it; authsome read and wrote nothing there`, {
        hint: `Make it yours alone: chmod 700 ${quote(root)}. Then check what is in it with \`authsome doctor\`.`,
      });
    }
  }
  // Every user may rename or replace an entry of a folder they can write, unless its sticky bit
  // (as on /tmp) keeps entries to their owners.
  const parent = dirname(root);
  const above = parent === root ? null : statOrNull(parent);
  if (above && above.mode & 0o002 && !(above.mode & 0o1000)) {
    return new AuthsomeError('home_insecure', `${parent}, the folder that holds ${root}, can be written by every user and has no sticky bit (mode ${octal(above.mode)}), so anyone could replace the home; authsome read and wrote nothing there`, {
      hint: `Close it: chmod o-w ${quote(parent)} (or chmod +t ${quote(parent)}). Or move the home into a folder of your own and set AUTHSOME_HOME to it.`,
    });
  }
  return null;
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null; // missing (made ours on first write) or not ours to look into (said by the write that fails)
  }
}

function userName(uid: number): string {
  try {
    return userInfo().username || String(uid);
  } catch {
    return String(uid); // a uid with no passwd entry (containers): chown takes the number
  }
}

function writers(mode: number): string {
  return mode & 0o020 && mode & 0o002 ? 'its group and every user' : mode & 0o002 ? 'every user' : 'its group';
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, '0');
}

/** A path as a POSIX shell reads it back: bare when it is plain, else in single quotes. */
function quote(path: string): string {
  return /^[\w@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}
