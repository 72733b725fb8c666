// The API's enum values the console offers in forms and filters.
import { tEnum } from './i18n';

export const VISIBILITIES = ['VISIBILITY_PUBLIC', 'VISIBILITY_PRIVATE'];
export const AUDIENCES = ['AUDIENCE_FOLLOWERS', 'AUDIENCE_CLIENTS', 'AUDIENCE_PROSPECTS'];
export const OBJECTIVES = ['OBJECTIVE_AWARENESS', 'OBJECTIVE_PURCHASE'];
export const FORMATS = ['FORMAT_INSPIRATIONAL', 'FORMAT_SALES_DRIVEN'];
export const RECIPIENTS = [
  'RECIPIENT_ASSOCIATE',
  'RECIPIENT_HOST_ASSOCIATE',
  'RECIPIENT_INVITING_ASSOCIATE',
  'RECIPIENT_STORE',
  'RECIPIENT_ECOMMERCE_TEAM',
  'RECIPIENT_CRM_TEAM',
  'RECIPIENT_NAMED_PARTY',
];
export const RULE_SCOPES = ['RULE_SCOPE_BRAND', 'RULE_SCOPE_ROOM', 'RULE_SCOPE_CATEGORY'];
export const GROUPINGS = ['STATEMENT_GROUPING_RECIPIENT', 'STATEMENT_GROUPING_ASSOCIATE', 'STATEMENT_GROUPING_STORE'];

/** [value, label] pairs for a select, with an optional leading "any" choice. */
export function options(values: string[], any?: string): [string, string][] {
  const list: [string, string][] = values.map((v) => [v, tEnum(v)]);
  return any === undefined ? list : [['', any], ...list];
}
