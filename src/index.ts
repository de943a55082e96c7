// The public library surface: `new Authsome({ home, profile })` and the types and errors it uses.
export {
  Authsome,
  type AuthsomeOptions, type InitResult, type WhoAmI, type ListResult, type ProviderSummary, type ConnectionSummary,
  type ConnectionState, type LoginResult, type ApiKeyLoginOptions, type ExportedVariable, type RemovalResult, type UnregisterResult,
  type ProfileInfo, type RekeyResult, type DoctorReport, type Finding,
} from './broker/index.ts';
export { AuthsomeError, CODES, type ErrorCode, Secret, maskSecret } from './util/index.ts';
export type { ConnectionRecord, KeySourceName, ProviderDefinition, ProviderEntry } from './broker/index.ts';
