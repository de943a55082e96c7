// The version this build reports (CLI --version, the daemon's status); a test keeps it equal to
// package.json's, so the bundle needs no JSON import at start-up.
export const VERSION = '0.1.0';
