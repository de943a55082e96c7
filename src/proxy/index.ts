// proxy: `run -- cmd`, a local proxy that adds credentials to the child's HTTPS requests.
export { runBehindProxy, type RunOptions } from './run.ts';
export { RouteTable, type Route, type Decision } from './routes.ts';
export { PLACEHOLDER } from './child-env.ts';
export { probeRuntimes, type ProbeResult } from './doctor.ts';
