// Values a provider gives only in its token response and a route needs: Salesforce's API host is
// the `instance_url` of each org, known once the user has signed in. The names a definition's
// routes use (`{instance_url}`) are kept from each token response (login and refresh) in the
// connection record, as fields of their own (the store keeps fields it does not know, as the
// Python authsome does); only an https URL is kept (routeValue), so an answer cannot point the
// credential at plain HTTP or at a URL that reads as another host.
import { isTokenResponseValue, routePlaceholders, routeValue, type ProviderDefinition } from '../providers/index.ts';

export function keptRouteValues(definition: ProviderDefinition, body: Record<string, unknown> | null | undefined): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const name of routePlaceholders(definition)) {
    if (!isTokenResponseValue(name)) continue;
    const value = routeValue(body?.[name]);
    if (value) kept[name] = value;
  }
  return kept;
}
