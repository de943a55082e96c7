// oidc-provider 9 ships no type declarations: just enough for the test server, everything else loosely typed.
declare module 'oidc-provider' {
  export default class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    [member: string]: any;
  }
  export const errors: { InvalidTarget: new (description?: string) => Error };
}
