// Environment variables a credential is never exported into, nor given a placeholder under `run`,
// whatever a provider definition's export.env (or api_key.env_var) says. A definition is
// untrusted input, and these variables change how the programs that read them load code, find
// commands, trust TLS or route traffic: `export` into NODE_OPTIONS with a provider-issued token of
// `--import=data:…` would run the provider's code in the next `node`; HTTPS_PROXY would send
// every request through the provider. The list cannot be complete; it covers the common runtimes.

const RESERVED = new Set([
  // Shells and the command search.
  'PATH', 'IFS', 'ENV', 'BASH_ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'PROMPT_COMMAND', 'HOME', 'SHELL', 'ZDOTDIR', 'CDPATH',
  'EDITOR', 'VISUAL', 'PAGER', 'BROWSER', 'TMPDIR',
  // Runtimes that load code named in their environment.
  'NODE_OPTIONS', 'NODE_PATH', 'NODE_EXTRA_CA_CERTS', 'PYTHONPATH', 'PYTHONHOME', 'PYTHONSTARTUP', 'PYTHONINSPECT', 'PYTHONUSERBASE',
  'PERL5OPT', 'PERL5LIB', 'PERLLIB', 'RUBYOPT', 'RUBYLIB', 'JAVA_TOOL_OPTIONS', '_JAVA_OPTIONS', 'JDK_JAVA_OPTIONS', 'CLASSPATH',
  'GCONV_PATH', 'HOSTALIASES', 'LOCALDOMAIN', 'RES_OPTIONS',
  // TLS trust and traffic routing.
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'CURL_CA_BUNDLE', 'REQUESTS_CA_BUNDLE', 'AWS_CA_BUNDLE', 'PIP_CERT',
  'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY', 'FTP_PROXY',
]);
/** Families: the dynamic linker's, git's (GIT_SSH_COMMAND, GIT_CONFIG_*), npm's configuration, bash's exported functions, authsome's own. */
const RESERVED_PREFIXES = ['LD_', 'DYLD_', 'GIT_', 'NPM_CONFIG_', 'BASH_FUNC_', 'AUTHSOME_'];

/** Whether `name` (in any case: http_proxy counts as HTTP_PROXY) is one a credential never goes into. */
export function isReservedVariable(name: string): boolean {
  const upper = name.toUpperCase();
  return RESERVED.has(upper) || RESERVED_PREFIXES.some((prefix) => upper.startsWith(prefix));
}
