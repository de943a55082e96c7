// oauth: the protocol flows, each a request builder plus a response check, over oauth4webapi.
export { OAuthError, REJECTION_ERRORS, toOAuthError, type OAuthErrorFields } from './errors.ts';
export { OAuthTransport, isLoopbackHttp, type TransportOptions, type DebugFn, type RequestPurpose } from './transport.ts';
export { resolveServer, discoverAuthorizationServer, type ResolvedServer } from './server.ts';
export { buildClient, type ClientCredentials, type OAuthClient, type AuthMethod } from './client.ts';
export { toTokenSet, accountFromClaims, type TokenSet, type TokenResponse } from './tokens.ts';
export { buildAuthorizationRequest, exchangeAuthorizationCode, validateAuthorizationCallback, type AuthorizationRequest } from './authorization-code.ts';
export { requestDeviceCode, pollDeviceCode, type DeviceCode, type PollProgress } from './device-code.ts';
export { requestClientCredentialsToken } from './client-credentials.ts';
export { discoverProtectedResource, type ProtectedResource } from './resource-discovery.ts';
export { registerClient, isClientStillRegistered, type RegisteredClient } from './registration.ts';
export { revokeToken, tokenToRevoke, revocationStyleOf, revocationNeedsClient, type RevocationStyle } from './revocation.ts';
export { fetchAccount } from './userinfo.ts';
export { refreshTokenGrant, refreshEndpointOf } from './refresh.ts';
export { grantParameters } from './tokens.ts';
