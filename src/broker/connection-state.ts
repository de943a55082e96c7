// Connection states as users see them (architecture.md): available → configured → connected →
// expired | invalid. Stored Python statuses map onto them: revoked → invalid, not_connected → available.
import { parseTimestamp } from '../util/index.ts';
import type { ConnectionRecord } from '../vault/index.ts';

export type ConnectionState = 'available' | 'configured' | 'connected' | 'expired' | 'invalid';

export function connectionState(record: Pick<ConnectionRecord, 'status'> & { expires_at?: string | null }, now: Date = new Date()): ConnectionState {
  switch (record.status) {
    case 'revoked':
    case 'invalid':
      return 'invalid';
    case 'not_connected':
      return 'available';
    case 'expired':
      return 'expired';
    default: {
      const expiresAt = parseTimestamp(record.expires_at);
      // An access token past its expiry is not usable as it stands, whatever the stored status says.
      return expiresAt && expiresAt.getTime() <= now.getTime() ? 'expired' : 'connected';
    }
  }
}
