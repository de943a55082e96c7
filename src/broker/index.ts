// broker: the Authsome service and the types its doors print.
export { Authsome, type AuthsomeOptions, type InitResult, type WhoAmI, type RefreshResult } from './authsome.ts';
export type { ListResult, ProviderSummary, ConnectionSummary } from './list.ts';
export type { ConnectionState } from './connection-state.ts';
export type { LoginResult, ApiKeyLoginOptions } from './api-key-login.ts';
export { apiKeyEnvVar, checkKeyPattern } from './api-key-login.ts';
export type { ExportedVariable } from './export.ts';
export type { RemovalResult } from './removal.ts';
export type { ProfileInfo } from './profiles.ts';
export type { RekeyResult } from './rekey.ts';
export type { DoctorReport, Finding } from './doctor.ts';
export type { KeySourceName, ConnectionRecord } from '../vault/index.ts';
export type { ProviderDefinition, ProviderEntry } from '../providers/index.ts';
export type { LoginInteraction, InputRequest, InputField, PendingCallback, DeviceDisplay, LoginOutcome } from './login-interaction.ts';
export type { OAuthLoginOptions, OAuthLoginResult, OAuthFlow } from './oauth-login.ts';
export type { RemoteRevocation } from './remote-revocation.ts';
export { describeRemote } from './remote-revocation.ts';
export type { DeviceCode, PollProgress } from '../oauth/index.ts';
export type { RouteSpec, Injection } from './proxy-support.ts';
