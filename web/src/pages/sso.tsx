// Settings → Single Sign-On (permission sso.configure): the workspace's connections (SAML 2.0,
// OpenID Connect, OAuth providers), adding one with a provider picker, the values to give the
// identity provider, test logins (the browser goes to the IdP and comes back here with
// ?connection=…&test=…), enabling, editing, deleting, and enforcing SSO for the workspace.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, patch, post, Role, SsoConnection, SsoTest, Workspace, wsPath } from '../api';
import { usePermissions } from '../permissions';
import { navigate, useLocation } from '../router';
import { Badge, Card, CopyField, Dialog, FormError, formatDate, relativeTime, SelectField, TextField, useAsync } from '../ui';
import { SkeletonRows } from './team';

type Kind = 'saml' | 'oidc' | 'oauth';

interface ProviderChoice {
  key: string;
  type: Kind;
  provider: string;
  label: string;
}

/** What the picker offers, in its two groups. */
export const SAML_PROVIDERS: ProviderChoice[] = [
  { key: 'saml:okta', type: 'saml', provider: 'okta', label: 'Okta' },
  { key: 'saml:entra', type: 'saml', provider: 'entra', label: 'Azure AD / Entra ID' },
  { key: 'saml:google_workspace', type: 'saml', provider: 'google_workspace', label: 'Google Workspace' },
  { key: 'saml:onelogin', type: 'saml', provider: 'onelogin', label: 'OneLogin' },
  { key: 'saml:custom', type: 'saml', provider: 'custom', label: 'Custom SAML' },
];
export const OAUTH_PROVIDERS: ProviderChoice[] = [
  { key: 'oauth:github', type: 'oauth', provider: 'github', label: 'GitHub' },
  { key: 'oauth:gitlab', type: 'oauth', provider: 'gitlab', label: 'GitLab' },
  { key: 'oauth:google', type: 'oauth', provider: 'google', label: 'Google' },
  { key: 'oauth:microsoft', type: 'oauth', provider: 'microsoft', label: 'Microsoft' },
  { key: 'oidc:custom', type: 'oidc', provider: 'custom', label: 'Custom OIDC' },
];

const PROVIDER_NAMES: Record<string, string> = {
  okta: 'Okta',
  entra: 'Azure AD / Entra ID',
  google_workspace: 'Google Workspace',
  onelogin: 'OneLogin',
  github: 'GitHub',
  gitlab: 'GitLab',
  google: 'Google',
  microsoft: 'Microsoft',
};

export function providerLabel(c: { type: Kind; provider: string }): string {
  const kind = c.type === 'saml' ? 'SAML' : c.type === 'oidc' ? 'OIDC' : 'OAuth';
  if (c.provider === 'custom') return `Custom ${kind}`;
  return `${PROVIDER_NAMES[c.provider] ?? c.provider} · ${kind}`;
}

// The attribute names the server uses when none are given (shown as placeholders).
const ENTRA_CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';
function defaultMapping(type: Kind, provider: string): Mapping {
  if (type === 'saml' && provider === 'entra') {
    return {
      email: ENTRA_CLAIMS + 'emailaddress',
      first_name: ENTRA_CLAIMS + 'givenname',
      last_name: ENTRA_CLAIMS + 'surname',
      role: 'role',
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    };
  }
  if (type === 'saml') return { email: 'email', first_name: 'first_name', last_name: 'last_name', role: 'role', groups: 'groups' };
  return { email: 'email', first_name: 'given_name', last_name: 'family_name', role: 'role', groups: 'groups' };
}

type Mapping = SsoConnection['attribute_mapping'];
const MAPPING_FIELDS: { key: keyof Mapping; label: string }[] = [
  { key: 'email', label: 'Email attribute' },
  { key: 'first_name', label: 'First name attribute' },
  { key: 'last_name', label: 'Last name attribute' },
  { key: 'role', label: 'Role attribute' },
  { key: 'groups', label: 'Groups attribute' },
];

const splitDomains = (s: string) =>
  s
    .split(/[\s,;]+/)
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean);

function statusBadge(status: SsoConnection['status']) {
  if (status === 'active') return <Badge tone="green">Active</Badge>;
  if (status === 'inactive') return <Badge tone="yellow">Inactive</Badge>;
  return <Badge tone="gray">Draft</Badge>;
}

function testBadge(t: SsoTest | null) {
  if (!t) return <span class="muted">Not tested</span>;
  return t.status === 'succeeded' ? <Badge tone="green">Test succeeded</Badge> : <Badge tone="red">Test failed</Badge>;
}

/** Roles SSO may give: every role but the owner's (the server refuses that one). */
export function useAssignableRoles(ws: string) {
  const roles = useAsync(() => get<{ data: Role[] } | Role[]>(wsPath(ws, '/roles')), [ws]);
  const catalogue = useAsync(() => get<{ owner_role: string | null }>('/v1/permissions'), []);
  const list: Role[] = Array.isArray(roles.data) ? roles.data : roles.data?.data ?? [];
  const owner = catalogue.data?.owner_role ?? 'owner';
  return list.filter((r) => r.id !== owner);
}

export function SsoSettings(props: { ws: Workspace; reloadWs: () => void }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const loc = useLocation();
  const selected = loc.query.get('connection');
  const adding = loc.query.get('new') === '1';
  const test = loc.query.get('test');
  const base = `/w/${ws.id}/settings/sso`;
  const can = perms.can('sso.configure');
  const conns = useAsync(
    () => (can ? get<{ data: SsoConnection[] }>(wsPath(ws.id, '/sso/connections')) : Promise.resolve({ data: [] as SsoConnection[] })),
    [ws.id, can],
  );
  const roles = useAssignableRoles(ws.id);
  const [notice, setNotice] = useState('');
  const open = (query: string) => {
    setNotice('');
    navigate(`${base}?${query}`);
  };

  if (!can) {
    return (
      <div class="page">
        <header class="page-header">
          <h1>Single Sign-On</h1>
        </header>
        <p class="form-error" role="alert">
          Your role cannot configure single sign-on in this workspace (permission: Configure SSO).
        </p>
      </div>
    );
  }

  const list = conns.data?.data ?? [];
  const current = selected ? list.find((c) => c.id === selected) : undefined;

  if (adding) {
    return (
      <div class="page">
        <header class="page-header">
          <div>
            <h1>Add SSO connection</h1>
            <p class="muted">Choose your identity provider, then tell Gatehouse how to reach it and who may sign in through it.</p>
          </div>
        </header>
        <ConnectionForm
          ws={ws}
          roles={roles}
          onCancel={() => navigate(base)}
          onSaved={(c) => {
            conns.reload();
            navigate(`${base}?connection=${c.id}&created=1`);
          }}
        />
      </div>
    );
  }

  if (selected) {
    return (
      <div class="page">
        <p class="back-link">
          <a
            href={base}
            onClick={(e) => {
              e.preventDefault();
              navigate(base);
            }}
          >
            ← All connections
          </a>
        </p>
        {conns.loading && !conns.data ? (
          <div class="loading" aria-busy="true">
            Loading…
          </div>
        ) : !current ? (
          <p class="form-error" role="alert">
            This connection does not exist any more, or belongs to another workspace.
          </p>
        ) : (
          <ConnectionDetail
            ws={ws}
            conn={current}
            roles={roles}
            returnedFromTest={test === 'succeeded' || test === 'failed'}
            justCreated={loc.query.get('created') === '1'}
            onChanged={conns.reload}
            onDeleted={(name) => {
              conns.reload();
              navigate(base);
              setNotice(`${name} was deleted.`);
            }}
          />
        )}
      </div>
    );
  }

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Single Sign-On</h1>
          <p class="muted">Let members sign in through your identity provider with SAML 2.0, OpenID Connect or OAuth.</p>
        </div>
        <div class="page-actions">
          <button class="button primary" type="button" onClick={() => open('new=1')}>
            Add connection
          </button>
        </div>
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <Card title="Connections" subtitle="Emails of a connection's domains sign in through it once it is active.">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Domains</th>
                <th scope="col">Status</th>
                <th scope="col">Last test</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {conns.loading && !conns.data && <SkeletonRows cols={5} />}
              {conns.data && list.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">
                    No connections yet. Add one to let members sign in with your identity provider.
                  </td>
                </tr>
              )}
              {list.map((c) => (
                <tr key={c.id}>
                  <td>
                    <div class="person-name">{c.name}</div>
                    <div class="muted small">{providerLabel(c)}</div>
                  </td>
                  <td class="domains">{c.domains.length ? c.domains.join(', ') : <span class="muted">None</span>}</td>
                  <td>{statusBadge(c.status)}</td>
                  <td>
                    {testBadge(c.last_test)}
                    {c.last_test && <div class="muted small">{relativeTime(c.last_test.at)}</div>}
                  </td>
                  <td class="actions">
                    <button class="button secondary small" type="button" aria-label={`Manage ${c.name}`} onClick={() => open(`connection=${c.id}`)}>
                      Manage
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {conns.error ? <FormError error={conns.error as ApiError} /> : null}
      </Card>
      <EnforceCard ws={ws} connections={list} reloadWs={props.reloadWs} />
    </div>
  );
}

// --- enforcement ----------------------------------------------------------------------------

function EnforceCard(props: { ws: Workspace; connections: SsoConnection[]; reloadWs: () => void }) {
  const [on, setOn] = useState(!!props.ws.sso_enforced);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!busy) setOn(!!props.ws.sso_enforced);
  }, [props.ws.sso_enforced]);
  const active = props.connections.filter((c) => c.status === 'active');
  const domains = Array.from(new Set(active.flatMap((c) => c.domains)));

  async function change(want: boolean) {
    setBusy(true);
    setError(null);
    try {
      const w = await patch<Workspace>(wsPath(props.ws.id), { sso_enforced: want });
      setOn(!!w.sso_enforced);
      setConfirming(false);
      props.reloadWs();
    } catch (err) {
      setConfirming(false);
      if (err instanceof ApiError && err.code === 'sso_not_active') {
        setError('No connection is active yet. Test a connection, enable it, then enforce single sign-on.');
      } else setError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Enforce single sign-on">
      <label class="checkbox">
        <input
          type="checkbox"
          role="switch"
          checked={on}
          disabled={busy}
          aria-describedby="sso-enforce-warning"
          onChange={(e) => {
            const want = (e.target as HTMLInputElement).checked;
            (e.target as HTMLInputElement).checked = on; // stays as it is until confirmed
            if (want) setConfirming(true);
            else change(false);
          }}
        />
        Require SSO for members of this workspace
      </label>
      <p class="warning" id="sso-enforce-warning">
        When this is on, members whose email domain is in an active connection can no longer sign in with a password; the owner keeps password access.
      </p>
      <p class="muted small">
        {on
          ? `Enforced${domains.length ? ` for ${domains.join(', ')}` : ''}: those members sign in through SSO.`
          : domains.length
            ? `Active domains: ${domains.join(', ')}.`
            : 'No connection is active yet: enforcing needs an active connection.'}
      </p>
      <FormError error={error} />
      {confirming && (
        <Dialog title="Enforce single sign-on?" onClose={() => setConfirming(false)}>
          <p class="warning">
            Members whose email domain is in an active connection can no longer sign in with a password; the owner keeps password access. Their password sessions stop
            working in this workspace.
          </p>
          <div class="dialog-actions">
            <button class="button secondary" type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button class="button primary" type="button" disabled={busy} onClick={() => change(true)} autoFocus>
              Enforce SSO
            </button>
          </div>
        </Dialog>
      )}
    </Card>
  );
}

// --- one connection -------------------------------------------------------------------------

function ConnectionDetail(props: {
  ws: Workspace;
  conn: SsoConnection;
  roles: Role[];
  returnedFromTest: boolean;
  justCreated: boolean;
  onChanged: () => void;
  onDeleted: (name: string) => void;
}) {
  const c = props.conn;
  const path = wsPath(props.ws.id, `/sso/connections/${c.id}`);
  const [statusError, setStatusError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState<'' | 'test' | 'status'>('');
  const [deleting, setDeleting] = useState(false);
  const [saved, setSaved] = useState('');
  const oidc = c.type !== 'saml';

  async function runTest() {
    setBusy('test');
    setStatusError(null);
    try {
      const r = await post<{ url: string }>(`${path}/test`);
      // The IdP runs a real login in this tab, then sends the browser back here.
      location.assign(r.url);
    } catch (err) {
      setStatusError(err instanceof ApiError ? err : String(err));
      setBusy('');
    }
  }

  async function setStatus(status: 'active' | 'inactive') {
    setBusy('status');
    setStatusError(null);
    setSaved('');
    try {
      await patch(path, { status });
      props.onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.code === 'sso_untested') {
        setStatusError('This connection cannot be enabled yet: run Test connection and make sure the test succeeds with the current settings.');
      } else if (err instanceof ApiError && err.code === 'sso_enforced') {
        setStatusError('The workspace enforces SSO through this connection: turn enforcement off first.');
      } else setStatusError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy('');
    }
  }

  const testedNow = c.last_test?.status === 'succeeded';
  return (
    <>
      <header class="page-header">
        <div>
          <h1>
            {c.name} {statusBadge(c.status)}
          </h1>
          <p class="muted">
            {providerLabel(c)} · {c.domains.length ? c.domains.join(', ') : 'no domains'}
          </p>
        </div>
      </header>
      {props.justCreated && (
        <p class="notice-box" role="status">
          Connection created as a draft. Give your identity provider the values below, run a test login, then enable it.
        </p>
      )}
      {c.last_test && <TestResult test={c.last_test} fresh={props.returnedFromTest} />}
      <Card
        title={oidc ? 'Values for your provider' : 'Service provider details'}
        subtitle={oidc ? 'Register this redirect URI with the OAuth / OIDC application.' : 'Give these to your identity provider (or let it read the metadata URL).'}
      >
        {oidc ? (
          <CopyField id="sp-redirect" label="Redirect URI" value={c.redirect_uri} />
        ) : (
          <>
            <CopyField id="sp-entity" label="Entity ID (Audience)" value={c.sp.entity_id} />
            <CopyField id="sp-acs" label="ACS URL (Reply URL)" value={c.sp.acs_url} />
            <CopyField id="sp-metadata" label="Metadata URL" value={c.sp.metadata_url} />
          </>
        )}
      </Card>
      <Card title="Test and enable" subtitle="A test runs a real sign-in at the identity provider without signing anyone in here.">
        <div class="security-row stack-on-phone">
          <div>
            <strong>Status: </strong>
            {statusBadge(c.status)} {testBadge(c.last_test)}
            <p class="muted small">
              {c.status === 'active'
                ? 'Members of its domains can sign in through this connection.'
                : testedNow
                  ? 'The last test succeeded: the connection can be enabled.'
                  : 'Enabling needs a test login that succeeded with the current settings.'}
            </p>
          </div>
          <div class="security-actions">
            <button class="button secondary" type="button" disabled={!!busy} onClick={runTest}>
              {busy === 'test' ? 'Opening the identity provider…' : 'Test connection'}
            </button>
            {c.status === 'active' ? (
              <button class="button danger-outline" type="button" disabled={!!busy} onClick={() => setStatus('inactive')}>
                Disable
              </button>
            ) : (
              <button class="button primary" type="button" disabled={!!busy} onClick={() => setStatus('active')}>
                Enable
              </button>
            )}
          </div>
        </div>
        <FormError error={statusError} />
      </Card>
      <Card title="Settings" subtitle={c.status === 'active' ? 'Changes apply at once; run a test afterwards to check them.' : 'Changed settings need a new successful test before enabling.'}>
        {saved && (
          <p class="field-success" role="status">
            {saved}
          </p>
        )}
        <ConnectionForm
          ws={props.ws}
          roles={props.roles}
          existing={c}
          onSaved={() => {
            setSaved(c.status === 'active' ? 'Settings saved. They are live: run a test to check them.' : 'Settings saved. Run a test again before enabling.');
            props.onChanged();
          }}
        />
      </Card>
      <Card title="Delete connection" class="danger-card">
        <div class="danger-row">
          <p class="muted">Members stop signing in through {c.name}. Accounts it created stay, without a password.</p>
          <button class="button danger" type="button" onClick={() => setDeleting(true)}>
            Delete connection
          </button>
        </div>
      </Card>
      {deleting && <DeleteDialog path={path} conn={c} onClose={() => setDeleting(false)} onDeleted={() => props.onDeleted(c.name)} />}
    </>
  );
}

function TestResult(props: { test: SsoTest; fresh: boolean }) {
  const t = props.test;
  const ok = t.status === 'succeeded';
  const attrs = Object.entries(t.attributes ?? {});
  return (
    <Card title={props.fresh ? 'Test result' : 'Last test'} class={ok ? 'test-result ok' : 'test-result failed'}>
      <p class="test-headline" role={props.fresh ? 'status' : undefined}>
        {ok ? <Badge tone="green">Succeeded</Badge> : <Badge tone="red">Failed</Badge>}{' '}
        {ok ? 'The identity provider signed the test user in and Gatehouse accepted the answer.' : 'Gatehouse refused the identity provider’s answer.'}{' '}
        <span class="muted small">
          {formatDate(t.at)}, {relativeTime(t.at)}
        </span>
      </p>
      <dl class="kv">
        {t.code && (
          <>
            <dt>Reason</dt>
            <dd class="mono">{t.code}</dd>
          </>
        )}
        {t.detail && (
          <>
            <dt>Detail</dt>
            <dd>{t.detail}</dd>
          </>
        )}
        {t.email && (
          <>
            <dt>Email received</dt>
            <dd>{t.email}</dd>
          </>
        )}
      </dl>
      {attrs.length > 0 && (
        <div class="table-wrap">
          <table class="attributes">
            <caption class="muted small">Attributes received</caption>
            <thead>
              <tr>
                <th scope="col">Attribute</th>
                <th scope="col">Values</th>
              </tr>
            </thead>
            <tbody>
              {attrs.map(([k, v]) => (
                <tr key={k}>
                  <td class="mono">{k}</td>
                  <td>{Array.isArray(v) ? v.join(', ') : String(v)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function DeleteDialog(props: { path: string; conn: SsoConnection; onClose: () => void; onDeleted: () => void }) {
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      title={`Delete ${props.conn.name}?`}
      onClose={props.onClose}
      description="Members of its domains can no longer sign in through it. This cannot be undone."
    >
      <FormError error={error} />
      <div class="dialog-actions">
        <button class="button secondary" type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button
          class="button danger"
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await del(props.path);
              props.onDeleted();
            } catch (err) {
              setError(
                err instanceof ApiError && err.code === 'sso_enforced'
                  ? 'The workspace enforces SSO through this connection: turn enforcement off first.'
                  : err instanceof ApiError
                    ? err
                    : String(err),
              );
              setBusy(false);
            }
          }}
        >
          Delete connection
        </button>
      </div>
    </Dialog>
  );
}

// --- the form: add a connection, or change one ------------------------------------------------

interface MappingRow {
  value: string;
  role: string;
}

function ConnectionForm(props: { ws: Workspace; roles: Role[]; existing?: SsoConnection; onSaved: (c: SsoConnection) => void; onCancel?: () => void }) {
  const ex = props.existing;
  const [choice, setChoice] = useState<ProviderChoice | null>(ex ? { key: `${ex.type}:${ex.provider}`, type: ex.type, provider: ex.provider, label: providerLabel(ex) } : null);
  const [name, setName] = useState(ex?.name ?? '');
  const [domains, setDomains] = useState(ex?.domains.join(', ') ?? '');
  const [samlMode, setSamlMode] = useState<'metadata' | 'manual'>(ex ? 'manual' : 'metadata');
  const [metadata, setMetadata] = useState('');
  const [entityId, setEntityId] = useState(ex?.saml?.idp_entity_id ?? '');
  const [ssoUrl, setSsoUrl] = useState(ex?.saml?.idp_sso_url ?? '');
  const [certificate, setCertificate] = useState(ex?.saml?.idp_certificate ?? '');
  const [issuer, setIssuer] = useState(ex?.oidc?.issuer ?? '');
  const [clientId, setClientId] = useState(ex?.oidc?.client_id ?? '');
  const [secret, setSecret] = useState('');
  const [scopes, setScopes] = useState(ex?.oidc?.scopes.join(' ') ?? '');
  const [mapping, setMapping] = useState<Mapping>(ex?.attribute_mapping ?? { email: '', first_name: '', last_name: '', role: '', groups: '' });
  const [rows, setRows] = useState<MappingRow[]>(ex ? Object.entries(ex.role_mapping).map(([value, role]) => ({ value, role })) : []);
  const [defaultRole, setDefaultRole] = useState(ex?.default_role ?? '');
  const [jit, setJit] = useState(ex?.jit ?? true);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  const type = choice?.type;
  const defaults = choice ? defaultMapping(choice.type, choice.provider) : defaultMapping('saml', 'custom');
  const roleOptions = props.roles.map((r) => ({ value: r.id, label: r.name }));

  function body(): Record<string, unknown> | string {
    if (!choice) return 'Choose an identity provider.';
    const b: Record<string, unknown> = {};
    const doms = splitDomains(domains);
    if (!ex) {
      b.type = choice.type;
      b.provider = choice.provider;
    }
    if (!ex ? name.trim() : name.trim() !== ex.name) b.name = name.trim();
    if (!ex || doms.join(',') !== ex.domains.join(',')) b.domains = doms;
    if (choice.type === 'saml') {
      if (samlMode === 'metadata') {
        if (metadata.trim() || !ex) b.saml = { idp_metadata_xml: metadata.trim() };
      } else {
        const s = ex?.saml;
        const changed = !s || entityId.trim() !== s.idp_entity_id || ssoUrl.trim() !== s.idp_sso_url || certificate.trim() !== s.idp_certificate.trim();
        if (changed) b.saml = { idp_entity_id: entityId.trim(), idp_sso_url: ssoUrl.trim(), idp_certificate: certificate.trim() };
      }
    } else {
      const o = ex?.oidc;
      const scopeList = scopes.split(/[\s,]+/).filter(Boolean);
      const changed = !o || issuer.trim() !== o.issuer || clientId.trim() !== o.client_id || !!secret || scopeList.join(' ') !== o.scopes.join(' ');
      if (changed) {
        const oidc: Record<string, unknown> = { client_id: clientId.trim() };
        if (issuer.trim() || choice.type === 'oidc') oidc.issuer = issuer.trim();
        if (secret || !ex) oidc.client_secret = secret;
        if (scopeList.length) oidc.scopes = scopeList;
        b.oidc = oidc;
      }
    }
    const m: Partial<Mapping> = {};
    for (const f of MAPPING_FIELDS) {
      const v = mapping[f.key].trim();
      if (ex ? v !== ex.attribute_mapping[f.key] : v) m[f.key] = v;
    }
    if (Object.keys(m).length) b.attribute_mapping = m;
    const rm: Record<string, string> = {};
    for (const r of rows) if (r.value.trim()) rm[r.value.trim()] = r.role;
    if (!ex ? Object.keys(rm).length : JSON.stringify(rm) !== JSON.stringify(ex.role_mapping)) b.role_mapping = rm;
    if (!ex ? defaultRole : defaultRole !== (ex.default_role ?? '')) b.default_role = defaultRole || null;
    if (!ex || jit !== ex.jit) b.jit = jit;
    return b;
  }

  async function submit(e: Event) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    const b = body();
    if (typeof b === 'string') {
      setFormError(b);
      return;
    }
    const local: Record<string, string> = {};
    if (!ex && splitDomains(domains).length === 0) local.domains = 'Enter at least one email domain, like acme.com.';
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    if (ex && Object.keys(b).length === 0) {
      setFormError('Nothing changed.');
      return;
    }
    setBusy(true);
    try {
      const saved = ex ? await patch<SsoConnection>(wsPath(props.ws.id, `/sso/connections/${ex.id}`), b) : await post<SsoConnection>(wsPath(props.ws.id, '/sso/connections'), b);
      if (ex) setSecret('');
      props.onSaved(saved);
    } catch (err) {
      if (err instanceof ApiError && err.errors[0]?.field) {
        const field = err.errors[0].field;
        const key = field.startsWith('domains')
          ? 'domains'
          : field.startsWith('role_mapping')
            ? 'role_mapping'
            : field.replace(/^saml\.|^oidc\./, (p) => p.replace('.', '_'));
        setErrors({ [key]: err.errors[0].message || err.detail });
        if (!KNOWN_ERROR_KEYS.has(key)) setFormError(`${field}: ${err.errors[0].message || err.detail}`);
      } else setFormError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} noValidate class="sso-form">
      {!ex && <ProviderPicker choice={choice} onChoose={setChoice} />}
      {choice && (
        <>
          <Section title="Connection" boxed={!ex}>
            <div class="row">
              <TextField label="Connection name" value={name} onValue={setName} error={errors.name} placeholder={`${choice.label} SSO`} hint={ex ? undefined : 'Optional: shown in this list and the audit log.'} />
              <TextField
                label="Domains"
                value={domains}
                onValue={setDomains}
                error={errors.domains}
                placeholder="acme.com, acme.io"
                hint="Email domains that sign in through this connection, separated by commas."
              />
            </div>
          </Section>
          {type === 'saml' ? (
            <Section title="Identity provider (SAML 2.0)" boxed={!ex}>
              <fieldset class="segmented">
                <legend class="visually-hidden">How to enter the identity provider's details</legend>
                {(
                  [
                    ['metadata', 'Paste metadata XML'],
                    ['manual', 'Enter manually'],
                  ] as const
                ).map(([v, l]) => (
                  <label key={v} class={samlMode === v ? 'selected' : ''}>
                    <input type="radio" name="saml-mode" value={v} checked={samlMode === v} onChange={() => setSamlMode(v)} />
                    {l}
                  </label>
                ))}
              </fieldset>
              {samlMode === 'metadata' ? (
                <TextArea
                  id="sso-metadata"
                  label="IdP metadata XML"
                  value={metadata}
                  onValue={setMetadata}
                  rows={6}
                  error={errors.saml_idp_metadata_xml ?? errors.saml}
                  hint={ex ? 'Paste new metadata to replace the entity ID, SSO URL and certificate.' : 'From your identity provider: the XML document that starts with <EntityDescriptor>.'}
                />
              ) : (
                <>
                  <TextField label="IdP Entity ID (Issuer)" value={entityId} onValue={setEntityId} error={errors.saml_idp_entity_id ?? errors.saml} placeholder="http://www.okta.com/exk…" />
                  <TextField label="IdP SSO URL" value={ssoUrl} onValue={setSsoUrl} error={errors.saml_idp_sso_url} placeholder="https://acme.okta.com/app/…/sso/saml" />
                  <TextArea id="sso-certificate" label="IdP signing certificate (X.509, PEM)" value={certificate} onValue={setCertificate} rows={5} error={errors.saml_idp_certificate} hint="-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----" />
                </>
              )}
            </Section>
          ) : (
            <Section title={type === 'oidc' ? 'Identity provider (OpenID Connect)' : `${choice.label} application (OAuth 2.0)`} boxed={!ex}>
              {(type === 'oidc' || choice.provider !== 'github') && (
                <TextField
                  label={type === 'oidc' ? 'Issuer URL' : 'Issuer URL (optional)'}
                  value={issuer}
                  onValue={setIssuer}
                  error={errors.oidc_issuer ?? errors.oidc}
                  placeholder={type === 'oidc' ? 'https://login.acme.com' : 'Empty: the provider’s standard endpoints'}
                  hint={type === 'oidc' ? 'Gatehouse reads /.well-known/openid-configuration under it.' : undefined}
                />
              )}
              <div class="row">
                <TextField label="Client ID" value={clientId} onValue={setClientId} error={errors.oidc_client_id} autoComplete="off" />
                <TextField
                  label="Client secret"
                  type="password"
                  value={secret}
                  onValue={setSecret}
                  error={errors.oidc_client_secret}
                  autoComplete="new-password"
                  hint={ex?.oidc?.client_secret_set ? 'Set. Leave empty to keep it.' : undefined}
                />
              </div>
              <TextField label="Scopes (optional)" value={scopes} onValue={setScopes} error={errors.oidc_scopes} placeholder={type === 'oidc' ? 'openid email profile' : 'The provider’s defaults'} />
              {!ex && <p class="field-hint">The redirect URI to register with the application is shown once the connection is created.</p>}
            </Section>
          )}
          <Section title="Attribute mapping" boxed={!ex}>
            <p class="field-hint">Which attributes (SAML) or claims (OIDC) carry each value. Empty fields use the name shown in grey.</p>
            <div class="mapping-grid">
              {MAPPING_FIELDS.map((f) => (
                <TextField
                  key={f.key}
                  label={f.label}
                  value={mapping[f.key]}
                  onValue={(v) => setMapping({ ...mapping, [f.key]: v })}
                  placeholder={defaults[f.key]}
                  error={errors['attribute_mapping.' + f.key]}
                />
              ))}
            </div>
          </Section>
          <Section title="Roles and provisioning" boxed={!ex}>
            <p class="field-hint">A value of the role or groups attribute gives its role; otherwise the default role.</p>
            <div class="role-rows">
              {rows.map((r, i) => (
                <div class="mapping-row" key={i}>
                  <TextField
                    label={`Attribute value ${i + 1}`}
                    value={r.value}
                    placeholder="engineering"
                    onValue={(v) => setRows(rows.map((x, j) => (j === i ? { ...x, value: v } : x)))}
                  />
                  <span class="arrow" aria-hidden="true">
                    →
                  </span>
                  <SelectField label={`Role for value ${i + 1}`} value={r.role} onValue={(v) => setRows(rows.map((x, j) => (j === i ? { ...x, role: v } : x)))} options={roleOptions} />
                  <button class="button secondary small" type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => setRows(rows.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </div>
              ))}
            </div>
            {errors.role_mapping && (
              <p class="field-error" role="alert">
                {errors.role_mapping}
              </p>
            )}
            <button
              class="button secondary small"
              type="button"
              disabled={roleOptions.length === 0}
              onClick={() => setRows([...rows, { value: '', role: roleOptions[roleOptions.length - 1]?.value ?? '' }])}
            >
              Add role mapping
            </button>
            <div class="row top-gap">
              <SelectField
                label="Default role"
                value={defaultRole}
                onValue={setDefaultRole}
                error={errors.default_role}
                options={[{ value: '', label: 'The lowest built-in role' }, ...roleOptions]}
                hint="For people whose attributes match no mapping."
              />
            </div>
            <label class="checkbox">
              <input type="checkbox" checked={jit} onChange={(e) => setJit((e.target as HTMLInputElement).checked)} />
              Just-in-time provisioning: create an account and membership at a person's first sign-in
            </label>
          </Section>
          <FormError error={formError} />
          <div class="form-actions">
            {props.onCancel && (
              <button class="button secondary" type="button" onClick={props.onCancel}>
                Cancel
              </button>
            )}
            <button class="button primary" type="submit" disabled={busy}>
              {ex ? (busy ? 'Saving…' : 'Save settings') : busy ? 'Creating…' : 'Create connection'}
            </button>
          </div>
        </>
      )}
      {!choice && props.onCancel && (
        <div class="form-actions">
          <button class="button secondary" type="button" onClick={props.onCancel}>
            Cancel
          </button>
        </div>
      )}
    </form>
  );
}

const KNOWN_ERROR_KEYS = new Set([
  'name',
  'domains',
  'saml',
  'saml_idp_metadata_xml',
  'saml_idp_entity_id',
  'saml_idp_sso_url',
  'saml_idp_certificate',
  'oidc',
  'oidc_issuer',
  'oidc_client_id',
  'oidc_client_secret',
  'oidc_scopes',
  'role_mapping',
  'default_role',
  ...MAPPING_FIELDS.map((f) => 'attribute_mapping.' + f.key),
]);

/** A card of the add form; inside the edit card, a plain group under a heading. */
function Section(props: { title: string; boxed: boolean; children: any }) {
  if (props.boxed) return <Card title={props.title}>{props.children}</Card>;
  return (
    <section class="form-section" aria-label={props.title}>
      <h3>{props.title}</h3>
      {props.children}
    </section>
  );
}

function ProviderPicker(props: { choice: ProviderChoice | null; onChoose: (c: ProviderChoice) => void }) {
  const group = (legend: string, items: ProviderChoice[]) => (
    <fieldset class="provider-group">
      <legend>{legend}</legend>
      <div class="provider-grid">
        {items.map((p) => (
          <label key={p.key} class={'provider-option' + (props.choice?.key === p.key ? ' selected' : '')}>
            <input type="radio" name="sso-provider" value={p.key} checked={props.choice?.key === p.key} onChange={() => props.onChoose(p)} />
            {p.label}
          </label>
        ))}
      </div>
    </fieldset>
  );
  return (
    <Card title="Identity provider" subtitle="Where your members' accounts live.">
      {group('SAML 2.0', SAML_PROVIDERS)}
      {group('OAuth 2.0 / OpenID Connect', OAUTH_PROVIDERS)}
    </Card>
  );
}

function TextArea(props: { id: string; label: string; value: string; onValue: (v: string) => void; rows: number; error?: string; hint?: string }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <textarea
        id={props.id}
        class="mono"
        rows={props.rows}
        spellcheck={false}
        value={props.value}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.id + '-msg'}
        onInput={(e) => props.onValue((e.target as HTMLTextAreaElement).value)}
      />
      <p id={props.id + '-msg'} class={props.error ? 'field-error' : 'field-hint'} role={props.error ? 'alert' : undefined}>
        {props.error ?? props.hint}
      </p>
    </div>
  );
}

/** /settings/sso?workspace=…&connection=sso_…&test=…, where the ACS sends the admin back after a test:
 *  finds the workspace of that connection among the caller's and goes to its SSO page. */
export function SsoReturn(props: { memberships: { workspace_id: string }[]; query: URLSearchParams }) {
  const [missing, setMissing] = useState(false);
  const id = props.query.get('connection') ?? '';
  useEffect(() => {
    let live = true;
    (async () => {
      // The server names the workspace; the one last used is the fallback for older links.
      const named = props.query.get('workspace');
      const saved = named ?? localStorage.getItem('gh.workspace');
      const order = [...props.memberships.map((m) => m.workspace_id)].sort((a, b) => (a === saved ? -1 : b === saved ? 1 : 0));
      for (const ws of order) {
        if (!id) break;
        try {
          await get(wsPath(ws, `/sso/connections/${encodeURIComponent(id)}`));
          if (live) navigate(`/w/${ws}/settings/sso?${props.query.toString()}`, true);
          return;
        } catch {
          /* not this workspace */
        }
      }
      if (live) {
        if (!id && order[0]) navigate(`/w/${order[0]}/settings/sso`, true);
        else setMissing(true);
      }
    })();
    return () => {
      live = false;
    };
  }, [id]);
  if (!missing) return <div class="loading" aria-busy="true" />;
  return (
    <main class="auth-layout">
      <div class="auth-card">
        <h1>Connection not found</h1>
        <p class="muted">That SSO connection is in none of your workspaces, or you may not configure it.</p>
        <p>
          <a href="/">Go to your workspace</a>
        </p>
      </div>
    </main>
  );
}
