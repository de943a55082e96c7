// Shell completion. The three scripts (bash, zsh, fish) are thin: each asks the CLI itself,
// `authsome __complete <index> <words…>`, for the candidates of the word under the cursor, so
// commands, options and their values come from the same command tree that parses them, and
// provider and connection names from the home. A completion never fails loudly, never creates
// a home and never renews a token: whatever cannot be read is left out.
import { existsSync } from 'node:fs';
import type { Command, Option } from 'commander';
import type { Authsome } from '../broker/index.ts';

/** Printed alone when the word is a file name: each script then completes paths its own way. */
export const FILES = '__files__';

export type Shell = 'bash' | 'zsh' | 'fish';
export const SHELLS: readonly Shell[] = ['bash', 'zsh', 'fish'];

/** Names from the home, asked for only when a word needs them. */
export interface NameSource {
  providers(): Promise<string[]>;
  connections(provider: string): Promise<string[]>;
  profiles(): Promise<string[]>;
}

/** Values of options whose argument is a name or a fixed word (choices come from the Option itself). */
const OPTION_VALUES: Record<string, (names: NameSource, operands: string[]) => Promise<string[]> | string[]> = {
  '--connection': (names, operands) => (operands[0] ? names.connections(operands[0]) : []),
  '--profile': (names) => names.profiles(),
  '--only': (names) => names.providers(),
  '--home': () => [FILES],
  '--log-file': () => [FILES],
  '--flow': () => ['pkce', 'device_code', 'dcr_pkce', 'client_credentials'],
};

/** What an operand of a command is, by its argument name in the command's usage. */
function operandCandidates(command: Command, index: number, names: NameSource, operands: string[]): Promise<string[]> | string[] {
  const argument = command.registeredArguments[index] ?? (command.registeredArguments.at(-1)?.variadic ? command.registeredArguments.at(-1) : undefined);
  switch (argument?.name()) {
    case 'provider': return names.providers();
    case 'connection': return operands[0] ? names.connections(operands[0]) : [];
    case 'file': return [FILES];
    case 'shell': return [...SHELLS];
    case 'command': return command.name() === 'help' ? visibleCommands(command.parent!).map((c) => c.name()) : [];
    default: return [];
  }
}

function visibleCommands(command: Command): Command[] {
  return command.commands.filter((c) => !(c as unknown as { _hidden?: boolean })._hidden);
}

/** Options a word can be at this point: the command's own, then every ancestor's (global options). */
function optionsOf(command: Command): Option[] {
  const all: Option[] = [];
  for (let c: Command | null = command; c; c = c.parent) all.push(...c.options.filter((o) => !o.hidden));
  return all;
}

function findOption(command: Command, word: string): Option | undefined {
  return optionsOf(command).find((o) => o.long === word || o.short === word || (o.negate && o.long === word));
}

/**
 * The candidates for `words[index]` (words[0] is the program's name), filtered by what is typed
 * of it. Walks the words before it through the command tree as commander would parse them.
 */
export async function complete(program: Command, words: string[], index: number, names: NameSource): Promise<string[]> {
  const current = words[index] ?? '';
  let command = program;
  const operands: string[] = [];
  let afterDashes = false;
  let pendingOption: Option | undefined;
  for (const word of words.slice(1, index)) {
    if (pendingOption) { pendingOption = undefined; continue; }
    if (afterDashes) { operands.push(word); continue; }
    if (word === '--') { afterDashes = true; continue; }
    if (word.startsWith('-')) {
      const option = findOption(command, word.split('=')[0]!);
      if (option && (option.required || option.optional) && !word.includes('=')) pendingOption = option;
      continue;
    }
    const sub = operands.length === 0 ? command.commands.find((c) => c.name() === word || c.aliases().includes(word)) : undefined;
    if (sub) command = sub;
    else operands.push(word);
  }
  // After `run --`, the words belong to the child's command: the shell's own completion is better.
  if (afterDashes) return [FILES];
  let candidates: string[];
  if (pendingOption) {
    const values = pendingOption.argChoices ?? (await OPTION_VALUES[pendingOption.long ?? '']?.(names, operands)) ?? [];
    candidates = values;
  } else if (current.startsWith('-')) {
    candidates = [...new Set(optionsOf(command).flatMap((o) => [o.long, o.short].filter((f): f is string => Boolean(f))).concat('--help'))];
  } else {
    const subs = operands.length === 0 ? visibleCommands(command).map((c) => c.name()) : [];
    candidates = [...subs, ...(await operandCandidates(command, operands.length, names, operands))];
  }
  if (candidates.includes(FILES)) return [FILES];
  return [...new Set(candidates.filter((c) => c.startsWith(current)))].sort();
}

/** Names read from the home without creating it, renewing nothing, and never failing: what cannot be read is left out. */
export function homeNames(open: () => Authsome, home: string): NameSource {
  let authsome: Authsome | undefined;
  const service = () => (authsome ??= open());
  const quietly = async (read: () => Promise<string[]>) => read().catch(() => []);
  const exists = existsSync(home);
  return {
    // The definitions alone (bundled and the home's): a Tab never decrypts the store for them.
    providers: () => quietly(() => service().providerNames()),
    connections: (provider) => quietly(async () => (exists ? (await service().list()).providers.find((p) => p.name === provider)?.connections.map((c) => c.connection_name) ?? [] : [])),
    profiles: () => quietly(async () => (exists ? (await service().profiles()).map((p) => p.name) : [])),
  };
}

/** The script a shell loads; each line of `authsome __complete` output is one candidate. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# authsome completion for bash. Load it with: source <(authsome completion bash)
# or save it as ~/.local/share/bash-completion/completions/authsome
_authsome() {
  local IFS=$'\\n' out
  out=$(authsome __complete "$COMP_CWORD" "\${COMP_WORDS[@]}" 2>/dev/null) || return 0
  if [[ "$out" == "${FILES}" ]]; then
    COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
  else
    COMPREPLY=($out)
  fi
}
complete -o default -F _authsome authsome
`;
    case 'zsh':
      return `#compdef authsome
# authsome completion for zsh. Load it with: source <(authsome completion zsh)
# or save it as _authsome in a folder of your $fpath (before compinit runs)
_authsome() {
  local out
  out=$(authsome __complete $((CURRENT - 1)) "\${words[@]}" 2>/dev/null) || return 0
  if [[ "$out" == "${FILES}" ]]; then
    _files
  elif [[ -n "$out" ]]; then
    local -a candidates
    candidates=("\${(@f)out}")
    compadd -a candidates
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _authsome "$@"
else
  compdef _authsome authsome
fi
`;
    case 'fish':
      return `# authsome completion for fish. Load it with: authsome completion fish | source
# or save it as ~/.config/fish/completions/authsome.fish
function __authsome_complete
    set -l words (commandline -opc)
    set -l current (commandline -ct)
    set -l out (authsome __complete (count $words) $words $current 2>/dev/null)
    if test "$out" = "${FILES}"
        __fish_complete_path $current
    else
        printf '%s\\n' $out
    end
end
complete -c authsome -f -a '(__authsome_complete)'
`;
  }
}
