// The HTTP API as the dashboard uses it: JSON in and out, the session cookie sent by the
// browser, and the CSRF token (from signup, login and GET /v1/me) on every mutation.

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem answered by the API. */
export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    public detail: string,
    public errors: FieldError[] = [],
    /** The whole problem body, for members beyond the standard ones (sso_required's sso_url). */
    public problem: Record<string, unknown> = {},
  ) {
    super(detail || code);
  }

  /** The message for one field, when the API named it. */
  forField(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

let csrfToken = '';

export function setCsrfToken(token: string) {
  csrfToken = token;
}

export interface RequestOptions {
  body?: unknown;
  /** Sent as is (FormData, CSV text) instead of JSON. */
  raw?: BodyInit;
  contentType?: string;
  /** The fetch cache mode; 'no-cache' to bypass the browser's HTTP cache. */
  cache?: RequestCache;
}

export async function api<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const mutating = method !== 'GET' && method !== 'HEAD';
  if (mutating && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    if (opts.contentType) headers['Content-Type'] = opts.contentType;
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body, credentials: 'same-origin', cache: opts.cache });
  } catch {
    throw new ApiError(0, 'network_error', 'The server could not be reached. Check your connection.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: any = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    throw new ApiError(
      res.status,
      json?.code ?? 'http_' + res.status,
      json?.detail ?? json?.title ?? res.statusText,
      Array.isArray(json?.errors) ? json.errors : [],
      json && typeof json === 'object' ? json : {},
    );
  }
  return json as T;
}

export const get = <T = any>(path: string) => api<T>('GET', path);
export const post = <T = any>(path: string, body?: unknown) => api<T>('POST', path, { body: body ?? {} });
export const patch = <T = any>(path: string, body: unknown) => api<T>('PATCH', path, { body });
export const put = <T = any>(path: string, body: unknown) => api<T>('PUT', path, { body });
export const del = <T = any>(path: string, body?: unknown) => api<T>('DELETE', path, { body });

// --- the records the dashboard shows -----------------------------------------------------

export interface Membership {
  workspace_id: string;
  workspace_name: string;
  role: string;
  /** "deactivated" while the workspace's directory has deactivated the membership; "suspended"
   *  while an administrator has suspended it. */
  status: 'active' | 'deactivated' | 'suspended';
}

export interface Me {
  id: string;
  email: string;
  name: string;
  avatar_url: string | null;
  theme: 'light' | 'dark' | 'system';
  language: string;
  mfa_enabled: boolean;
  /** False until the address is proved by the mailed link (needed to accept invitations). */
  email_verified: boolean;
  csrf_token: string;
  /** Only the session's own workspace when it was made by SSO. */
  memberships: Membership[];
  session: { method: 'password' | 'sso' | 'api_key'; sso_connection_id: string | null; workspace_id: string | null };
}

export interface Workspace {
  id: string;
  name: string;
  logo_url: string | null;
  region: string;
  timezone: string;
  language: string;
  plan: string;
  subscription_status: string;
  member_count: number;
  member_limit: number;
  ip_allowlist_enabled?: boolean;
  /** Members without two-factor authentication cannot act in the workspace. */
  require_mfa?: boolean;
  /** Members of a domain of an active SSO connection must sign in through it. */
  sso_enforced?: boolean;
  role: string;
  created_at: string;
}

export interface Member {
  user_id: string;
  name: string;
  email: string;
  role: string;
  role_name?: string;
  projects: { project_id: string; name: string; role: string }[];
  last_login_at: string | null;
  joined_at: string;
  /** A deactivated member (by the directory, over SCIM) keeps the row but no access; so does a
   *  suspended one (by an administrator, until unsuspended). Deactivated wins when both hold. */
  status?: 'active' | 'deactivated' | 'suspended';
  /** Provisioned by the workspace's directory (SCIM): its role follows the group mappings. */
  directory_managed?: boolean;
}

export interface Invitation {
  id: string;
  email: string;
  role: string;
  status: string;
  invited_by: any;
  created_at: string;
  expires_at: string;
}

export interface Role {
  id: string;
  name: string;
  builtin: boolean;
  invitable?: boolean;
  permissions?: string[];
}

export interface ApiKey {
  id: string;
  name: string;
  type: 'secret' | 'publishable';
  prefix: string;
  key?: string;
  owner: { user_id: string; name: string };
  project_id: string | null;
  environment: string;
  created_at: string;
  last_used_at: string | null;
  expires_at: string | null;
  revoked_at: string | null;
}

export interface Project {
  id: string;
  name: string;
  environment: string;
  created_at: string;
  members?: { user_id: string; name: string; email?: string; role: string }[];
}

export interface AuditEvent {
  id: string;
  occurred_at: string;
  action: string;
  actor: { type: string; id: string | null; name: string | null; email: string | null };
  target: { type: string | null; id: string | null; name: string | null };
  details: Record<string, unknown>;
}

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
  total?: number;
}

export const wsPath = (ws: string, rest = '') => `/v1/workspaces/${encodeURIComponent(ws)}${rest}`;

export interface SsoTest {
  status: 'succeeded' | 'failed';
  code?: string;
  detail?: string;
  email?: string;
  attributes?: Record<string, unknown>;
  at: string;
}

export interface SsoConnection {
  id: string;
  workspace_id?: string;
  type: 'saml' | 'oidc' | 'oauth';
  provider: string;
  name: string;
  status: 'draft' | 'active' | 'inactive';
  domains: string[];
  saml?: { idp_entity_id: string; idp_sso_url: string; idp_certificate: string; allow_idp_initiated: boolean };
  oidc?: { issuer: string; client_id: string; scopes: string[]; client_secret_set: boolean };
  attribute_mapping: { email: string; first_name: string; last_name: string; role: string; groups: string };
  role_mapping: Record<string, string>;
  default_role: string | null;
  default_projects: { project_id: string; role: string }[];
  jit: boolean;
  sp: { entity_id: string; acs_url: string; metadata_url: string };
  redirect_uri: string;
  last_test: SsoTest | null;
  created_at: string;
  updated_at: string;
}

export interface ScimToken {
  id: string;
  name: string;
  created_by: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** POST …/scim/tokens: the secret, once. */
export interface ScimTokenIssued extends ScimToken {
  token: string;
  base_url: string;
}

/** A directory group (by its displayName) and what its members get. */
export interface GroupMapping {
  group: string;
  role: string;
  projects: { project_id: string; role: string }[];
}

/** Where an sso_required answer sends the browser, coming back to `back` (a path of ours). */
export function ssoUrlOf(err: ApiError, back: string): string | null {
  const raw = err.problem.sso_url;
  if (typeof raw !== 'string' || !raw) return null;
  const url = new URL(raw, location.origin);
  if (!url.searchParams.has('redirect_url')) url.searchParams.set('redirect_url', back);
  // Same origin: keep it relative, as the API gave it.
  return url.origin === location.origin ? url.pathname + url.search : url.toString();
}

// --- webhooks and notifications (issue 18) -------------------------------------------------

export interface WebhookEndpoint {
  id: string;
  url: string;
  description: string;
  /** Empty: every event. Entries are event types (`api_key.revoked`) or `noun.*`. */
  event_types: string[];
  enabled: boolean;
  /** Why the server disabled the endpoint (it answered 410 Gone); null otherwise. */
  disabled_reason: string | null;
  /** While the replaced secret still signs beside the new one, after a rotation. */
  previous_secret_expires_at?: string | null;
  created_at: string;
  updated_at: string;
}

/** POST …/webhooks and …/rotate-secret: the signing secret, once. */
export interface WebhookWithSecret extends WebhookEndpoint {
  secret: string;
}

export interface WebhookDelivery {
  id: string;
  event_type: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  created_at: string;
}

export type NotificationCategory = 'invite_access' | 'security' | 'system';
export type NotificationChannel = 'email' | 'slack' | 'webhook' | 'in_app';
export type NotificationFrequency = 'immediate' | 'daily_digest';

export interface NotificationType {
  id: string;
  category: NotificationCategory;
  name: string;
  description?: string;
}

export interface NotificationRecipients {
  roles: string[];
  /** Also the person whose action raised the notification. */
  actor: boolean;
  /** Also the member the notification is about (whose role changed, who got access). */
  subject: boolean;
  users: string[];
}

export interface NotificationRule {
  type: string;
  category: NotificationCategory;
  name: string;
  channels: NotificationChannel[];
  recipients: NotificationRecipients;
  frequency: NotificationFrequency;
  is_default: boolean;
}

export type SlackConnection =
  | { connected: false }
  | {
      connected: true;
      /** Masked by the server: the secret part of the path is never shown. */
      webhook_url: string;
      channel: string | null;
      enabled: boolean;
      disabled_reason: string | null;
      created_at: string;
      updated_at: string;
    };

export interface InAppNotification {
  id: string;
  type: string;
  category: NotificationCategory;
  workspace_id: string;
  title: string;
  body: string;
  created_at: string;
  read_at: string | null;
  /** The dashboard page it is about ("/w/ws_…/settings/team"), or null. */
  link?: string | null;
}

export interface NotificationList {
  data: InAppNotification[];
  unread_count: number;
  next_cursor: string | null;
}

export type EmailFrequency = 'immediate' | 'daily_digest' | 'off';

export interface NotificationPreferences {
  email: Record<NotificationCategory, EmailFrequency>;
}
