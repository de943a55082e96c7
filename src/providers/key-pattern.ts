// A provider's api_key.key_pattern, matched in linear time. The pattern comes from a definition,
// which may be anyone's (a pasted one, an MCP server's), and JavaScript's backtracking engine
// takes exponential time on patterns like ^(a+)+$: a 29-character key froze the daemon for 55 s.
// RE2 (re2js, a pure-JS port: no native build) runs any pattern in time linear in the input, and
// refuses the few constructs that cannot be (lookaround, backreferences). The whole key must
// match, as Python's re.fullmatch does in the Python authsome.
import { AuthsomeError } from '../util/index.ts';

type Matcher = (value: string) => boolean;
const compiled = new Map<string, Matcher>();

/** Why RE2 cannot run `pattern`, or null when it can. Loads the engine: for register, doctor and login, never `get`. */
export async function keyPatternProblem(pattern: string): Promise<string | null> {
  try {
    await matcherFor(pattern);
    return null;
  } catch (error) {
    return `is not a regular expression authsome can check in linear time (RE2 syntax; no lookaround or backreferences): ${(error as Error).message}`;
  }
}

/** Whether the whole of `value` matches `pattern` (re.fullmatch). A pattern RE2 cannot run is provider_invalid. */
export async function matchesKeyPattern(pattern: string, value: string, provider?: string): Promise<boolean> {
  let matcher: Matcher;
  try {
    matcher = await matcherFor(pattern);
  } catch (error) {
    throw new AuthsomeError('provider_invalid', `the key_pattern of ${provider ?? 'this provider'} cannot be checked: ${(error as Error).message}`, {
      hint: 'Fix api_key.key_pattern in the definition (RE2 syntax: no lookaround or backreferences), then register it again with --force.',
      ...(provider ? { provider } : {}),
    });
  }
  return matcher(value);
}

async function matcherFor(pattern: string): Promise<Matcher> {
  const known = compiled.get(pattern);
  if (known) return known;
  const { RE2JS } = await import('re2js');
  const re = RE2JS.compile(pattern);
  const matcher: Matcher = (value) => re.matcher(value).matches();
  compiled.set(pattern, matcher);
  return matcher;
}
