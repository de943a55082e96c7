// audit: the audit log, the debug log, and the one redaction registry every sink uses.
export { Redactor, redactor } from './redactor.ts';
export { AuditLog, type AuditEntry, type AuditFields } from './audit-log.ts';
export { DebugLog, silentLog, debugLog, type DebugSink } from './debug-log.ts';
export { appendRotating } from './rotating-file.ts';
