// The version this build reports (CLI --version, the daemon's status); a test keeps it equal to
// package.json's, so the bundle needs no JSON import at start-up.
export const VERSION = '0.1.0';

/** The JSON contract every `--json` output follows (README, "JSON output"); raised on a breaking change. */
export const JSON_CONTRACT_VERSION = 1;
