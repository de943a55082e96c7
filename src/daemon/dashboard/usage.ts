// The lines a user copies to use a connection — `get`, `export`, `run`, `headers` and the
// library — built from names only: the provider, the connection, the profile, the variable names
// of its definition and a URL its route covers. No line can hold a secret, because none is handed in.
import type { ConnectionUsage } from '../../broker/index.ts';

export interface UsageLine {
  /** What the line does, as the page labels it. */
  label: string;
  text: string;
}

export interface UsageContext {
  /** The profile shown; `--profile` is added when it is not the home's default one. */
  profile: string;
  isDefaultProfile: boolean;
  /** Whether this is the provider's default connection (the one `run` and the library pick). */
  isDefaultConnection: boolean;
}

/** Quoted for a POSIX shell when it holds anything but safe characters. */
function sh(word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export function usageLines(usage: ConnectionUsage, context: UsageContext): UsageLine[] {
  const provider = sh(usage.provider);
  const profile = context.isDefaultProfile ? '' : ` --profile ${sh(context.profile)}`;
  const connection = usage.connection === 'default' ? '' : ` --connection ${sh(usage.connection)}`;
  const runChoice = context.isDefaultConnection ? '' : ` --connection ${sh(`${usage.provider}=${usage.connection}`)}`;
  const command = usage.url ? `curl ${sh(usage.url)}` : '<command>';
  const vars = usage.env_vars.length ? ` # sets ${usage.env_vars.join(', ')}` : '';
  const lines: UsageLine[] = [
    { label: 'State', text: `authsome get ${provider}${connection} --field status${profile}` },
    { label: 'Into this shell', text: `eval "$(authsome export ${provider}${connection} --format shell${profile})"${vars}` },
    { label: 'For one command (the key never enters it)', text: `authsome run${runChoice}${profile} -- ${command}` },
    { label: 'As HTTP headers', text: `authsome headers ${provider}${connection} --json${profile}` },
  ];
  if (usage.url && context.isDefaultConnection) {
    const options = context.isDefaultProfile ? '' : `{ profile: ${JSON.stringify(context.profile)} }`;
    lines.push({
      label: 'From Node (npm i authsome-cli)',
      text: `import { Authsome } from 'authsome-cli';\nconst authsome = new Authsome(${options});\nconst response = await authsome.fetch('${usage.url.replace(/[\\']/g, '\\$&')}');`,
    });
  }
  return lines;
}
