// Which bundled definitions the catalogue tests check here: all but those another change of
// issue 15 reworks (Microsoft's tenant, Salesforce's instance_url, the two Klaviyo definitions,
// Notion's version header, Cloudflare's two-part key, Reddit's public clients), whose documented
// URLs and sources are checked by that change's own tests.
export const CHECKED_ELSEWHERE: ReadonlySet<string> = new Set(['microsoft', 'salesforce', 'klaviyo', 'klaviyo-oauth', 'notion', 'cloudflare', 'reddit']);
