// Settings → Directory Sync (permission directory.configure): the SCIM base URL and bearer
// tokens Okta or Entra ID provision the workspace with (a new token's secret shown once),
// setup steps for both, the group → role mappings, and the latest provisioning events.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, AuditEvent, del, get, GroupMapping, Page, post, Project, put, Role, ScimToken, ScimTokenIssued, Workspace, wsPath } from '../api';
import { usePermissions } from '../permissions';
import { Link } from '../router';
import { Badge, Card, CopyField, Dialog, FormError, formatDate, relativeTime, SelectField, TextField, useAsync } from '../ui';
import { useAssignableRoles } from './sso';
import { SkeletonRows } from './team';

export function DirectorySync(props: { ws: Workspace }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const can = perms.can('directory.configure');
  const tokens = useAsync(
    () => (can ? get<{ data: ScimToken[]; base_url: string }>(wsPath(ws.id, '/scim/tokens')) : Promise.resolve({ data: [] as ScimToken[], base_url: '' })),
    [ws.id, can],
  );
  const [creating, setCreating] = useState(false);
  const [issued, setIssued] = useState<ScimTokenIssued | null>(null);
  const [revoking, setRevoking] = useState<ScimToken | null>(null);
  const [notice, setNotice] = useState('');
  // Bumped after a change here, so that the events card shows it.
  const [changes, setChanges] = useState(0);
  const changed = () => setChanges((n) => n + 1);

  if (!can) {
    return (
      <div class="page">
        <header class="page-header">
          <h1>Directory Sync</h1>
        </header>
        <p class="form-error" role="alert">
          Your role cannot configure directory sync in this workspace (permission: Configure directory sync).
        </p>
      </div>
    );
  }

  const list = tokens.data?.data ?? [];
  const live = list.filter((t) => !t.revoked_at);
  const baseUrl = tokens.data?.base_url || `${location.origin}/scim/v2/${ws.id}`;

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Directory Sync</h1>
          <p class="muted">Let Okta, Entra ID or any SCIM 2.0 directory add, update and deactivate the members of {ws.name}.</p>
        </div>
        <div class="page-actions">
          <button class="button primary" type="button" onClick={() => setCreating(true)}>
            Create token
          </button>
        </div>
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>

      <Card title="SCIM connection" subtitle="Your directory sends its changes to this URL, with a token below as the bearer token.">
        <CopyField id="scim-base-url" label="SCIM base URL" value={baseUrl} />
        <div class="table-wrap">
          <table class="tokens-table" aria-label="SCIM tokens">
            <thead>
              <tr>
                <th scope="col">Token</th>
                <th scope="col" class="hide-phone">Created</th>
                <th scope="col" class="hide-phone">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.loading && !tokens.data && <SkeletonRows cols={5} rows={2} />}
              {tokens.data && list.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">
                    No tokens yet. Create one and give it to your directory.
                  </td>
                </tr>
              )}
              {list.map((t) => (
                <tr key={t.id} class={t.revoked_at ? 'revoked' : undefined}>
                  <td>
                    <div class="person-name">{t.name}</div>
                    <div class="muted small show-phone">
                      Created {formatDate(t.created_at)} · last used {t.last_used_at ? relativeTime(t.last_used_at) : 'never'}
                    </div>
                  </td>
                  <td class="hide-phone">{formatDate(t.created_at)}</td>
                  <td class="hide-phone">{t.last_used_at ? relativeTime(t.last_used_at) : <span class="muted">Never</span>}</td>
                  <td>{t.revoked_at ? <Badge tone="gray">Revoked {formatDate(t.revoked_at)}</Badge> : <Badge tone="green">Active</Badge>}</td>
                  <td class="actions">
                    {!t.revoked_at && (
                      <button class="button danger-outline small" type="button" aria-label={`Revoke ${t.name}`} onClick={() => setRevoking(t)}>
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {tokens.error ? <FormError error={tokens.error as ApiError} /> : null}
      </Card>

      <SetupSteps />
      <MappingsCard ws={ws} onSaved={changed} />
      {perms.can('audit_log.view') && <EventsCard ws={ws} changes={changes} />}

      {creating && (
        <CreateTokenDialog
          ws={ws}
          liveCount={live.length}
          onClose={() => setCreating(false)}
          onCreated={(t) => {
            setCreating(false);
            setIssued(t);
            setNotice('');
            tokens.reload();
            changed();
          }}
        />
      )}
      {issued && <TokenCreatedDialog token={issued} onClose={() => setIssued(null)} />}
      {revoking && (
        <RevokeTokenDialog
          ws={ws}
          token={revoking}
          onClose={() => setRevoking(null)}
          onRevoked={() => {
            setNotice(`${revoking.name} was revoked. Your directory can no longer sync with it.`);
            setRevoking(null);
            tokens.reload();
            changed();
          }}
        />
      )}
    </div>
  );
}

// --- tokens -------------------------------------------------------------------------------

function CreateTokenDialog(props: { ws: Workspace; liveCount: number; onClose: () => void; onCreated: (t: ScimTokenIssued) => void }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  const [nameError, setNameError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNameError(undefined);
    try {
      props.onCreated(await post<ScimTokenIssued>(wsPath(props.ws.id, '/scim/tokens'), name.trim() ? { name: name.trim() } : {}));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'too_many_scim_tokens') {
        setError('This workspace already has 20 active tokens. Revoke one you no longer use, then create a new one.');
      } else if (err instanceof ApiError && err.forField('name')) setNameError(err.forField('name'));
      else setError(err instanceof ApiError ? err : String(err));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Create SCIM token" onClose={props.onClose} description="A token lets a directory provision this workspace. Create one for each directory you connect.">
      <form onSubmit={submit} noValidate>
        <TextField label="Name" value={name} onValue={setName} error={nameError} placeholder="Okta" hint="Optional: says which directory uses it." autoFocus />
        <FormError error={error} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit" disabled={busy}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function TokenCreatedDialog(props: { token: ScimTokenIssued; onClose: () => void }) {
  const t = props.token;
  return (
    <Dialog title="SCIM token created" onClose={props.onClose}>
      <p class="warning" role="alert">
        Copy this token now. It will not be shown again: Gatehouse stores only a hash of it.
      </p>
      <CopyField id="scim-secret" label={`Token for ${t.name}`} value={t.token} />
      <CopyField id="scim-secret-base-url" label="SCIM base URL" value={t.base_url} hint="Paste both into your directory's provisioning settings." />
      <div class="dialog-actions">
        <button class="button primary" type="button" onClick={props.onClose}>
          I have copied it
        </button>
      </div>
    </Dialog>
  );
}

function RevokeTokenDialog(props: { ws: Workspace; token: ScimToken; onClose: () => void; onRevoked: () => void }) {
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog
      title={`Revoke ${props.token.name}?`}
      onClose={props.onClose}
      description="Your directory's requests with this token are refused from now on, so its changes stop reaching this workspace. Members it provisioned stay as they are. This cannot be undone."
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
              await del(wsPath(props.ws.id, `/scim/tokens/${props.token.id}`));
              props.onRevoked();
            } catch (e) {
              setError(e instanceof ApiError ? e : String(e));
              setBusy(false);
            }
          }}
        >
          Revoke token
        </button>
      </div>
    </Dialog>
  );
}

// --- setup steps --------------------------------------------------------------------------

function SetupSteps() {
  return (
    <Card title="Set up your directory" subtitle="Use the SCIM base URL and a token from above.">
      <div class="setup-grid">
        <section aria-labelledby="setup-okta">
          <h3 id="setup-okta">Okta</h3>
          <ol class="steps">
            <li>
              Open your Gatehouse app in Okta and go to the <strong>Provisioning</strong> tab.
            </li>
            <li>
              Set <strong>SCIM connector base URL</strong> to the SCIM base URL.
            </li>
            <li>
              Set <strong>Unique identifier field for users</strong> to <code>userName</code>.
            </li>
            <li>
              Choose <strong>HTTP Header</strong> authentication and paste the token.
            </li>
            <li>
              Enable <strong>Create Users</strong>, <strong>Update User Attributes</strong> and <strong>Deactivate Users</strong>, then assign people and use{' '}
              <strong>Push Groups</strong> for the groups you map below.
            </li>
          </ol>
        </section>
        <section aria-labelledby="setup-entra">
          <h3 id="setup-entra">Microsoft Entra ID</h3>
          <ol class="steps">
            <li>
              Open your Gatehouse enterprise application and go to <strong>Provisioning</strong>.
            </li>
            <li>
              Set <strong>Provisioning Mode</strong> to <strong>Automatic</strong>.
            </li>
            <li>
              Set <strong>Tenant URL</strong> to the SCIM base URL and <strong>Secret Token</strong> to the token, then <strong>Test Connection</strong>.
            </li>
            <li>
              Assign the users and groups to provision, and turn <strong>Provisioning Status</strong> on.
            </li>
          </ol>
        </section>
      </div>
    </Card>
  );
}

// --- group mappings -----------------------------------------------------------------------

interface Row {
  group: string;
  role: string;
  projects: { project_id: string; role: string }[];
}

/** Errors of one row, from a problem's `field` (`[1].role`, `[0].projects[2].project_id`). */
interface RowErrors {
  group?: string;
  role?: string;
  projects?: string;
}

function rowErrorOf(err: ApiError): { index: number; errors: RowErrors } | null {
  const field = err.errors[0]?.field ?? '';
  const m = field.match(/^\[(\d+)\]\.?(group|role|projects)?/);
  if (!m) return null;
  const key = (m[2] ?? 'group') as keyof RowErrors;
  return { index: Number(m[1]), errors: { [key]: err.errors[0].message || err.detail } };
}

/** The least privileged built-in role: what the directory gives people in no mapped group. */
function leastPrivileged(roles: Role[]): Role | undefined {
  const builtin = roles.filter((r) => r.builtin);
  if (builtin.length === 0) return undefined;
  return builtin.reduce((a, b) => ((b.permissions?.length ?? 0) < (a.permissions?.length ?? 0) ? b : a));
}

function MappingsCard(props: { ws: Workspace; onSaved: () => void }) {
  const ws = props.ws;
  const saved = useAsync(() => get<GroupMapping[]>(wsPath(ws.id, '/scim/group-mappings')), [ws.id]);
  const roles = useAssignableRoles(ws.id);
  const projects = useAsync(() => get<Page<Project>>(wsPath(ws.id, '/projects?limit=200')).catch(() => ({ data: [] as Project[], next_cursor: null })), [ws.id]);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [errors, setErrors] = useState<Record<number, RowErrors>>({});
  const [formError, setFormError] = useState<ApiError | string | null>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (saved.data) setRows(saved.data.map((m) => ({ group: m.group, role: m.role, projects: m.projects ?? [] })));
  }, [saved.data]);

  const roleOptions = roles.map((r) => ({ value: r.id, label: r.name }));
  const projectList = projects.data?.data ?? [];
  const lowestRole = leastPrivileged(roles);
  const lowest = lowestRole?.id ?? roleOptions[0]?.value ?? '';
  const list = rows ?? [];
  const edit = (i: number, change: Partial<Row>) => {
    setDone('');
    setErrors({ ...errors, [i]: {} });
    setRows(list.map((r, j) => (j === i ? { ...r, ...change } : r)));
  };

  async function save(e: Event) {
    e.preventDefault();
    setErrors({});
    setFormError(null);
    setDone('');
    const local: Record<number, RowErrors> = {};
    list.forEach((r, i) => {
      if (!r.group.trim()) local[i] = { group: 'Enter the group’s name as your directory shows it.' };
    });
    if (Object.keys(local).length) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      const body = list.map((r) => ({ group: r.group.trim(), role: r.role, projects: r.projects.filter((p) => p.project_id) }));
      const out = await put<GroupMapping[]>(wsPath(ws.id, '/scim/group-mappings'), body);
      setRows(out.map((m) => ({ group: m.group, role: m.role, projects: m.projects ?? [] })));
      setDone('Mappings saved. Members provisioned by your directory now have the roles they map to.');
      props.onSaved();
    } catch (err) {
      const at = err instanceof ApiError ? rowErrorOf(err) : null;
      if (at) setErrors({ [at.index]: at.errors });
      else setFormError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Group mappings" subtitle={`A member's role is the highest role mapped from their groups; people in no mapped group get ${lowestRole?.name ?? 'Viewer'}.`}>
      <form onSubmit={save} noValidate>
        {saved.loading && !rows ? (
          <div class="skeleton" aria-hidden="true" />
        ) : list.length === 0 ? (
          <p class="empty">No groups mapped yet: everyone your directory provisions joins with the lowest role, and you set roles by hand on the team page.</p>
        ) : (
          <div class="group-mappings">
            {list.map((r, i) => (
              <fieldset class="group-mapping" key={i}>
                <legend class="visually-hidden">Mapping {i + 1}</legend>
                <div class="mapping-row">
                  <TextField label={`Directory group ${i + 1}`} value={r.group} onValue={(v) => edit(i, { group: v })} placeholder="Engineering" error={errors[i]?.group} />
                  <span class="arrow" aria-hidden="true">
                    →
                  </span>
                  <SelectField label={`Role for group ${i + 1}`} value={r.role} onValue={(v) => edit(i, { role: v })} options={roleOptions} error={errors[i]?.role} />
                  <button class="button secondary small" type="button" aria-label={`Remove mapping ${i + 1}`} onClick={() => setRows(list.filter((_, j) => j !== i))}>
                    Remove
                  </button>
                </div>
                {r.projects.map((p, k) => (
                  <div class="mapping-row project-grant" key={k}>
                    <SelectField
                      label={`Project ${k + 1} of group ${i + 1}`}
                      value={p.project_id}
                      onValue={(v) => edit(i, { projects: r.projects.map((x, n) => (n === k ? { ...x, project_id: v } : x)) })}
                      options={[{ value: '', label: 'Choose a project' }, ...projectList.map((x) => ({ value: x.id, label: x.name }))]}
                    />
                    <SelectField
                      label={`Project role ${k + 1} of group ${i + 1}`}
                      value={p.role}
                      onValue={(v) => edit(i, { projects: r.projects.map((x, n) => (n === k ? { ...x, role: v } : x)) })}
                      options={roleOptions}
                    />
                    <button
                      class="button secondary small"
                      type="button"
                      aria-label={`Remove project ${k + 1} of group ${i + 1}`}
                      onClick={() => edit(i, { projects: r.projects.filter((_, n) => n !== k) })}
                    >
                      Remove
                    </button>
                  </div>
                ))}
                {errors[i]?.projects && (
                  <p class="field-error" role="alert">
                    {errors[i].projects}
                  </p>
                )}
                {projectList.length > 0 && (
                  <button
                    class="link-button small"
                    type="button"
                    aria-label={`Add project access to group ${i + 1}`}
                    onClick={() => edit(i, { projects: [...r.projects, { project_id: '', role: lowest }] })}
                  >
                    + Project access
                  </button>
                )}
              </fieldset>
            ))}
          </div>
        )}
        <FormError error={formError ?? (saved.error as ApiError | undefined) ?? null} />
        {done && (
          <p class="field-success" role="status">
            {done}
          </p>
        )}
        <div class="form-actions">
          <button
            class="button secondary"
            type="button"
            disabled={roleOptions.length === 0 || !rows}
            onClick={() => {
              setDone('');
              setRows([...list, { group: '', role: lowest, projects: [] }]);
            }}
          >
            Add group
          </button>
          <button class="button primary" type="submit" disabled={busy || !rows}>
            {busy ? 'Saving…' : 'Save mappings'}
          </button>
        </div>
      </form>
    </Card>
  );
}

// --- provisioning events ------------------------------------------------------------------

const EVENT_WORDS: Record<string, string> = {
  'directory.user_created': 'User created',
  'directory.user_updated': 'User updated',
  'directory.user_deactivated': 'User deactivated',
  'directory.user_reactivated': 'User reactivated',
  'directory.user_deleted': 'User deleted',
  'directory.group_created': 'Group created',
  'directory.group_updated': 'Group updated',
  'directory.group_deleted': 'Group deleted',
  'directory.token_created': 'Token created',
  'directory.token_revoked': 'Token revoked',
  'directory.group_mappings_updated': 'Mappings updated',
  'member.reactivated': 'Reactivated here, overriding the directory',
};

export function eventWords(action: string): string {
  return EVENT_WORDS[action] ?? action.replace(/^directory\./, '').replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

function eventTarget(e: AuditEvent): string {
  if (e.action === 'directory.group_mappings_updated') {
    const n = Array.isArray(e.details?.mappings) ? (e.details.mappings as unknown[]).length : null;
    return n === null ? '—' : `${n} ${n === 1 ? 'group' : 'groups'}`;
  }
  const email = typeof e.details?.email === 'string' ? e.details.email : '';
  return e.target?.name || email || '—';
}

const EVENTS_SHOWN = 10;

function EventsCard(props: { ws: Workspace; changes: number }) {
  const ws = props.ws;
  const events = useAsync(async () => {
    const q = (action: string) => get<Page<AuditEvent>>(wsPath(ws.id, `/audit-logs?action=${encodeURIComponent(action)}&limit=${EVENTS_SHOWN}`));
    // Reactivating by hand is the team's action, but it overrides the directory: shown here too.
    const [dir, manual] = await Promise.all([q('directory.*'), q('member.reactivated')]);
    const overrides = manual.data.filter((e) => e.details?.directory_managed === true);
    return [...dir.data, ...overrides].sort((a, b) => (a.occurred_at < b.occurred_at ? 1 : a.occurred_at > b.occurred_at ? -1 : 0)).slice(0, EVENTS_SHOWN);
  }, [ws.id, props.changes]);
  const list = events.data ?? [];
  return (
    <Card
      title="Latest provisioning events"
      actions={
        <button class="button secondary small" type="button" onClick={events.reload} disabled={events.loading}>
          Refresh
        </button>
      }
    >
      <div class="table-wrap">
        <table class="events-table" aria-label="Latest provisioning events">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Target</th>
            </tr>
          </thead>
          <tbody>
            {events.loading && !events.data && <SkeletonRows cols={3} rows={3} />}
            {events.data && list.length === 0 && (
              <tr>
                <td colSpan={3} class="empty">
                  Nothing yet. Changes your directory sends show up here.
                </td>
              </tr>
            )}
            {list.map((e) => (
              <tr key={e.id}>
                <td>
                  <time dateTime={e.occurred_at} title={e.occurred_at.replace('T', ' ').replace('Z', ' UTC')}>
                    {relativeTime(e.occurred_at)}
                  </time>
                </td>
                <td>{eventWords(e.action)}</td>
                <td class="domains">{eventTarget(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {events.error ? <FormError error={events.error as ApiError} /> : null}
      <p class="muted small">
        Every event is in the <Link href={`/w/${ws.id}/audit-log`}>Audit Log</Link>.
      </p>
    </Card>
  );
}
