// API Keys: the ownership table (name, owner, project, last used), create with endpoint
// permissions, rate limits, IP allowlist and expiry, the secret shown once, rotate, revoke.
import { useState } from 'preact/hooks';
import { ApiError, ApiKey, del, get, Page, post, Project, Workspace, wsPath } from '../api';
import { usePermissions } from '../permissions';
import { useSession } from '../session';
import { Badge, Card, CopyButton, Dialog, fieldErrors, FormError, formatDate, relativeTime, SelectField, TextField, useAsync } from '../ui';
import { SkeletonRows } from './team';

const lines = (s: string) =>
  s
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);

export function ApiKeys(props: { ws: Workspace }) {
  const ws = props.ws;
  const { me } = useSession();
  const perms = usePermissions(ws.id);
  const canCreate = perms.can('api_keys.create');
  const canSeeAny = perms.can('api_keys.view_own') || perms.can('api_keys.view_all');
  const keys = useAsync(() => (canSeeAny ? get<Page<ApiKey>>(wsPath(ws.id, '/api-keys?limit=200')) : Promise.resolve({ data: [], next_cursor: null })), [ws.id, canSeeAny]);
  const projects = useAsync(() => get<Page<Project>>(wsPath(ws.id, '/projects?limit=200')).catch(() => ({ data: [], next_cursor: null }) as Page<Project>), [ws.id]);
  const [creating, setCreating] = useState(false);
  const [secret, setSecret] = useState<{ title: string; key: ApiKey } | null>(null);
  const [confirm, setConfirm] = useState<{ kind: 'revoke' | 'rotate'; key: ApiKey } | null>(null);
  const [notice, setNotice] = useState('');
  const [showRevoked, setShowRevoked] = useState(false);

  const projectName = (id: string | null) => (id ? projects.data?.data.find((p) => p.id === id)?.name ?? id : 'Workspace');
  const mayManage = (k: ApiKey) => perms.can('api_keys.revoke_all') || (perms.can('api_keys.revoke_own') && k.owner.user_id === me?.id);
  const list = (keys.data?.data ?? []).filter((k) => k.type === 'secret' && (showRevoked || !k.revoked_at));

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>API Keys</h1>
          <p class="muted">Secret keys for your services. Only a hash is stored: a secret is shown once, when it is created or rotated.</p>
        </div>
        {canCreate && (
          <div class="page-actions">
            <button class="button primary" type="button" onClick={() => setCreating(true)}>
              Create API Key
            </button>
          </div>
        )}
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <Card title="Key Ownership" actions={<label class="checkbox inline"><input type="checkbox" checked={showRevoked} onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)} /> Show revoked</label>}>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Key Name</th>
                <th scope="col">Owner</th>
                <th scope="col">Project</th>
                <th scope="col">Last Used</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.loading && !keys.data && <SkeletonRows cols={5} />}
              {keys.data && list.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">
                    No API keys yet.
                  </td>
                </tr>
              )}
              {list.map((k) => (
                <tr key={k.id}>
                  <td>
                    <div class="person-name">{k.name}</div>
                    <div class="muted small mono">
                      {k.prefix}… {k.environment === 'test' ? <Badge tone="yellow">test</Badge> : <Badge tone="green">live</Badge>}{' '}
                      {k.revoked_at && <Badge tone="red">Revoked</Badge>}
                      {k.expires_at && !k.revoked_at && <span> · expires {formatDate(k.expires_at)}</span>}
                    </div>
                  </td>
                  <td>{k.owner.user_id === me?.id ? 'You' : k.owner.name}</td>
                  <td>{projectName(k.project_id)}</td>
                  <td>{relativeTime(k.last_used_at)}</td>
                  <td class="actions">
                    {mayManage(k) && !k.revoked_at ? (
                      <>
                        <button class="button secondary small" type="button" onClick={() => setConfirm({ kind: 'rotate', key: k })} aria-label={`Rotate ${k.name}`}>
                          Rotate
                        </button>
                        <button class="button danger-outline small" type="button" onClick={() => setConfirm({ kind: 'revoke', key: k })} aria-label={`Revoke ${k.name}`}>
                          Revoke
                        </button>
                      </>
                    ) : (
                      <span aria-hidden="true">–</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {keys.error ? <FormError error={keys.error as ApiError} /> : null}
      </Card>

      {creating && (
        <CreateKeyDialog
          ws={ws}
          projects={projects.data?.data ?? []}
          onClose={() => setCreating(false)}
          onCreated={(k) => {
            setCreating(false);
            setSecret({ title: 'API key created', key: k });
            keys.reload();
          }}
        />
      )}
      {secret && <SecretDialog title={secret.title} apiKey={secret.key} onClose={() => setSecret(null)} />}
      {confirm && (
        <ConfirmKeyDialog
          ws={ws}
          kind={confirm.kind}
          apiKey={confirm.key}
          onClose={() => setConfirm(null)}
          onDone={(k) => {
            setConfirm(null);
            keys.reload();
            if (confirm.kind === 'rotate' && k) setSecret({ title: 'API key rotated', key: k });
            else setNotice(`${confirm.key.name} was revoked. Requests with it are refused from now on.`);
          }}
        />
      )}
    </div>
  );
}

function SecretDialog(props: { title: string; apiKey: ApiKey; onClose: () => void }) {
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p class="warning" role="alert">
        Copy this secret now. It will not be shown again: Gatehouse stores only a hash of it.
      </p>
      <div class="field">
        <label for="new-secret">Secret key for {props.apiKey.name}</label>
        <div class="copy-row">
          <input id="new-secret" class="mono" readOnly value={props.apiKey.key ?? ''} onFocus={(e) => (e.target as HTMLInputElement).select()} />
          <CopyButton text={props.apiKey.key ?? ''} label="Copy secret key" />
        </div>
      </div>
      <div class="dialog-actions">
        <button class="button primary" type="button" onClick={props.onClose}>
          I have copied it
        </button>
      </div>
    </Dialog>
  );
}

function ConfirmKeyDialog(props: { ws: Workspace; kind: 'revoke' | 'rotate'; apiKey: ApiKey; onClose: () => void; onDone: (k?: ApiKey) => void }) {
  const [grace, setGrace] = useState('0');
  const [error, setError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const k = props.apiKey;
  const revoke = props.kind === 'revoke';
  return (
    <Dialog
      title={revoke ? `Revoke ${k.name}?` : `Rotate ${k.name}?`}
      onClose={props.onClose}
      description={
        revoke
          ? 'Every request made with this key is refused from now on. This cannot be undone.'
          : 'A new secret replaces this one. Keep the old one working for a while so your services can switch.'
      }
    >
      {!revoke && (
        <SelectField
          label="Old secret keeps working for"
          value={grace}
          onValue={setGrace}
          options={[
            { value: '0', label: 'No time: stop it now' },
            { value: '3600', label: '1 hour' },
            { value: '86400', label: '24 hours' },
            { value: '604800', label: '7 days' },
          ]}
        />
      )}
      <FormError error={error} />
      <div class="dialog-actions">
        <button class="button secondary" type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button
          class={revoke ? 'button danger' : 'button primary'}
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              if (revoke) {
                await del(wsPath(props.ws.id, `/api-keys/${k.id}`));
                props.onDone();
              } else {
                props.onDone(await post<ApiKey>(wsPath(props.ws.id, `/api-keys/${k.id}/rotate`), { grace_seconds: Number(grace) }));
              }
            } catch (e) {
              setError(e);
              setBusy(false);
            }
          }}
        >
          {revoke ? 'Revoke key' : 'Rotate key'}
        </button>
      </div>
    </Dialog>
  );
}

function CreateKeyDialog(props: { ws: Workspace; projects: Project[]; onClose: () => void; onCreated: (k: ApiKey) => void }) {
  const [name, setName] = useState('');
  const [project, setProject] = useState('');
  const [environment, setEnvironment] = useState('');
  const [allow, setAllow] = useState('');
  const [deny, setDeny] = useState('');
  const [perMinute, setPerMinute] = useState('');
  const [perMonth, setPerMonth] = useState('');
  const [ips, setIps] = useState('');
  const [expires, setExpires] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    if (!name.trim()) {
      setErrors({ name: 'Give the key a name that says where it is used, like "Production API".' });
      return;
    }
    const body: any = { name: name.trim(), type: 'secret' };
    if (project) body.project_id = project;
    if (environment) body.environment = environment;
    if (allow.trim() || deny.trim()) body.permissions = { allow: allow.trim() ? lines(allow) : undefined, deny: deny.trim() ? lines(deny) : undefined };
    if (perMinute || perMonth) body.rate_limit = { per_minute: perMinute ? Number(perMinute) : undefined, per_month: perMonth ? Number(perMonth) : undefined };
    if (ips.trim()) body.ip_allowlist = lines(ips);
    if (expires) body.expires_at = new Date(expires + 'T23:59:59Z').toISOString().replace(/\.\d{3}Z$/, 'Z');
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      props.onCreated(await post<ApiKey>(wsPath(props.ws.id, '/api-keys'), body));
    } catch (err) {
      const f = fieldErrors(err, ['name', 'project_id', 'environment', 'permissions', 'permissions.allow', 'permissions.deny', 'rate_limit', 'rate_limit.per_minute', 'rate_limit.per_month', 'ip_allowlist', 'expires_at']);
      const m = f.fields;
      setErrors({
        name: m.name,
        project_id: m.project_id,
        environment: m.environment,
        allow: m['permissions.allow'] ?? m.permissions,
        deny: m['permissions.deny'],
        per_minute: m['rate_limit.per_minute'] ?? m.rate_limit,
        per_month: m['rate_limit.per_month'],
        ip_allowlist: m.ip_allowlist,
        expires_at: m.expires_at,
      });
      setFormError(f.rest);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create API Key" onClose={props.onClose}>
      <form onSubmit={submit} noValidate class="form-grid">
        <TextField label="Name" value={name} onValue={setName} error={errors.name} placeholder="Production API" autoFocus />
        <SelectField
          label="Project"
          value={project}
          onValue={setProject}
          error={errors.project_id}
          options={[{ value: '', label: 'Whole workspace' }, ...props.projects.map((p) => ({ value: p.id, label: p.name }))]}
        />
        <SelectField
          label="Environment"
          value={environment}
          onValue={setEnvironment}
          error={errors.environment}
          options={[
            { value: '', label: "From the project (live unless it isn't production)" },
            { value: 'live', label: 'Live (sk_live_…)' },
            { value: 'test', label: 'Test (sk_test_…)' },
          ]}
        />
        <fieldset>
          <legend>Endpoint permissions</legend>
          <Field2 label="Allowed endpoints" value={allow} onValue={setAllow} error={errors.allow} hint="One path per line; a trailing * is a wildcard (/v1/metrics/*). Empty: every endpoint." />
          <Field2 label="Denied endpoints" value={deny} onValue={setDeny} error={errors.deny} hint="Deny wins over allow." />
        </fieldset>
        <fieldset>
          <legend>Rate limits</legend>
          <div class="row">
            <TextField label="Requests per minute" inputMode="numeric" value={perMinute} onValue={setPerMinute} error={errors.per_minute} />
            <TextField label="Requests per month" inputMode="numeric" value={perMonth} onValue={setPerMonth} error={errors.per_month} />
          </div>
        </fieldset>
        <Field2 label="IP allowlist" value={ips} onValue={setIps} error={errors.ip_allowlist} hint="CIDR ranges, one per line (203.0.113.0/24). Empty: any address." />
        <TextField label="Expires on" type="date" value={expires} onValue={setExpires} error={errors.expires_at} hint="Empty: never (rotate it by hand)." />
        <FormError error={formError} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create key'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function Field2(props: { label: string; value: string; onValue: (v: string) => void; error?: string; hint?: string }) {
  const id = 'ta-' + props.label.replace(/\W+/g, '-').toLowerCase();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <textarea id={id} rows={2} value={props.value} aria-invalid={props.error ? 'true' : undefined} aria-describedby={id + '-msg'} onInput={(e) => props.onValue((e.target as HTMLTextAreaElement).value)} />
      <p id={id + '-msg'} class={props.error ? 'field-error' : 'field-hint'} role={props.error ? 'alert' : undefined}>
        {props.error ?? props.hint}
      </p>
    </div>
  );
}
