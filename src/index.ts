// The public library surface: `new Authsome({ home, profile })` (also exported as `AuthLayer`) and
// the types and errors it uses.
import { Authsome } from './broker/index.ts';

export {
  Authsome, headlessLogin,
  type AuthsomeOptions, type InitResult, type WhoAmI, type ListResult, type ProviderSummary, type ConnectionSummary,
  type ConnectionState, type LoginResult, type ApiKeyLoginOptions, type ExportedVariable, type RemovalResult, type UnregisterResult,
  type ProfileInfo, type RekeyResult, type RekeyOptions, type DoctorReport, type Finding,
  type RouteExplanation, type RouteCandidateView, type InjectionView, type ProviderInfo, type RegisterResult,
  type RequestHeaders, type RequestCredential, type AuthenticatedResponse, type HeadlessLoginOptions, type DeviceCodePrompt,
  type ConnectionRead, type IssuedCredential, type RefreshResult, type SkippedRoute, type RouteSpec, type RouteRule, type Injection,
  type LoginInteraction, type InputRequest, type InputField, type PendingCallback, type DeviceDisplay, type LoginOutcome, type DeviceCode, type PollProgress,
  type OAuthLoginOptions, type OAuthLoginResult, type OAuthFlow,
  type AuditEntry, type StoreChange, type ConnectionView, type MigrationOptions, type MigrationResult, type RemoteRevocation, type ProfileConnections,
  type ConnectionUsage,
} from './broker/index.ts';
export { AuthsomeError, CODES, type ErrorCode, Secret, maskSecret } from './util/index.ts';
export type { ConnectionRecord, KeySourceName, ProviderDefinition } from './broker/index.ts';

/**
 * `AuthLayer` is the name the authsome documentation gives the library entry
 * (`import { AuthLayer } from 'authsome-cli'`): an alias of {@link Authsome}, the very same class, so
 * `new AuthLayer(options)` takes the same options and `instanceof Authsome` holds for its instances.
 */
export const AuthLayer = Authsome;
/** The instance type of {@link AuthLayer}: the same as {@link Authsome}. */
export type AuthLayer = Authsome;
