// util: the ground floor every room may use.
export * from './errors.ts';
export * from './names.ts';
export * from './credential-text.ts';
export * from './display-text.ts';
export * from './core-dumps.ts';
export * from './secret.ts';
export * from './time.ts';
export * from './python-json.ts';
export * from './fs.ts';
export * from './settings.ts';
export * from './qr.ts';
export * from './version.ts';
export * from './bearer-challenge.ts';
export * from './processes.ts';
