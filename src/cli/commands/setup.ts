// init, whoami, doctor: setting up the home and checking that it is healthy.
import { Option, type Command } from 'commander';
import type { KeySourceName } from '../../broker/index.ts';
import { table } from '../output.ts';
import { action } from './run.ts';

export function registerSetup(program: Command): void {
  program
    .command('init')
    .description('create the home, the default profile and the master key')
    .addOption(new Option('--key-source <source>', 'where the master key lives').choices(['local_key', 'passphrase', 'keyring']))
    .option('--store <url>', 'keep records in a shared PostgreSQL (postgres://user@host/db), or "sqlite" (the default); saved in config.json')
    .action(action<{ keySource?: KeySourceName; store?: string }>(async ({ authsome, out }, _args, options) => {
      const result = await authsome.init({ ...(options.keySource ? { keySource: options.keySource } : {}), ...(options.store !== undefined ? { storeUrl: options.store } : {}) });
      out.result(result, `${result.created ? 'Initialized' : 'Already initialized:'} ${result.home} (profile ${result.profile}, key from ${result.key_source}, records in ${result.store})`);
    }));

  program
    .command('whoami')
    .description('show the home, profile, key source and store in use')
    .action(action(async ({ authsome, out }) => {
      const who = await authsome.whoami();
      out.result(who, table([
        ['home', who.home], ['profile', who.profile], ['key source', who.key_source ?? '(none yet)'],
        ['store', who.store], ['connections', String(who.connections)],
      ]));
    }));

  program
    .command('doctor')
    .description('check the home, permissions, master key, stores and provider files; exit 1 when unhealthy')
    .option('--proxy', 'also check, per client runtime (curl, Python, Node, git), that `run`\'s proxy and CA work')
    .action(action<{ proxy?: boolean }>(async ({ authsome, out, env, settings }, _args, options) => {
      if (options.proxy) {
        const { requireSafeHome } = await import('../../broker/index.ts');
        requireSafeHome(settings.home);
        const { probeRuntimes } = await import('../../proxy/index.ts');
        const probes = await probeRuntimes(settings.home, env);
        const working = probes.every((p) => p.outcome !== 'failed');
        out.result({ proxy: probes, healthy: working }, [
          ...probes.map((p) => `${p.outcome === 'ok' ? 'ok  ' : p.outcome === 'not_installed' ? 'skip' : 'FAIL'}  ${p.runtime.padEnd(16)} ${p.detail}`),
          working ? 'Every installed runtime works through `authsome run`.' : 'Some runtimes do not work through `authsome run`; see the FAIL lines.',
        ].join('\n'));
        return working ? 0 : 1;
      }
      const report = await authsome.doctor();
      out.result(report, () => {
        const lines = report.findings.map((f) => `${f.status === 'ok' ? 'ok  ' : f.status === 'warning' ? 'warn' : 'FAIL'}  ${f.check}: ${f.message}${f.fix ? `\n      fix: ${f.fix}` : ''}`);
        lines.push(report.healthy ? 'Healthy.' : 'Unhealthy: fix the FAIL lines above.');
        return lines.join('\n');
      });
      return report.healthy ? 0 : 1;
    }, { checksHome: false }));
}
