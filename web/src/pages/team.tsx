// Settings → Team Members: member count, Active Members (role selector, Remove; Directory,
// Deactivated and Suspended badges, Reactivate, Suspend… and Unsuspend), Pending Invitations
// (Revoke), the Invite Member dialog and bulk CSV invitations.
import { useState } from 'preact/hooks';
import { api, ApiError, del, get, Invitation, Member, Page, patch, post, Project, Role, Workspace, wsPath } from '../api';
import { invalidatePermissions, usePermissions } from '../permissions';
import { useSession } from '../session';
import { Avatar, Badge, Card, Dialog, fieldErrors, FormError, formatDate, relativeTime, useAsync } from '../ui';

interface Catalogue {
  roles: { id: string; name: string; invitable: boolean }[];
  owner_role: string | null;
  default_invite_role: string;
}

// The HTML5 email rule, which is what browsers check in <input type=email>.
const EMAIL_RE = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

export function emailProblem(email: string): string | undefined {
  if (!email) return 'Enter an email address.';
  if (!EMAIL_RE.test(email.trim())) return 'Enter a valid email address, like colleague@company.com.';
  return undefined;
}

export function TeamMembers(props: { ws: Workspace; reloadWs: () => void }) {
  const ws = props.ws;
  const { me } = useSession();
  const perms = usePermissions(ws.id);
  const canInvite = perms.can('members.invite');
  const canSeeInvites = perms.can('invitations.view');
  const canManageRoles = perms.can('members.manage_roles');
  const canRemove = perms.can('members.remove');

  const members = useAsync(() => get<Page<Member>>(wsPath(ws.id, '/members?limit=200')), [ws.id]);
  const invitations = useAsync(
    () => (canSeeInvites ? get<Page<Invitation>>(wsPath(ws.id, '/invitations?limit=200')) : Promise.resolve({ data: [], next_cursor: null })),
    [ws.id, canSeeInvites],
  );
  const roles = useAsync(() => get<{ data: Role[] } | Role[]>(wsPath(ws.id, '/roles')), [ws.id]);
  const catalogue = useAsync(() => get<Catalogue>('/v1/permissions'), []);
  // Projects an invitation may add the invitee to (spec: "Optional: Add to specific projects").
  const projects = useAsync(
    () => (canInvite && perms.can('projects.manage') ? get<Page<Project>>(wsPath(ws.id, '/projects?limit=200')) : Promise.resolve({ data: [], next_cursor: null })),
    [ws.id, canInvite],
  );

  const [inviting, setInviting] = useState(false);
  const [bulk, setBulk] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const [reactivating, setReactivating] = useState<Member | null>(null);
  const [suspending, setSuspending] = useState<Member | null>(null);
  const [unsuspendingId, setUnsuspendingId] = useState('');
  const [actionError, setActionError] = useState<{ id: string; msg: string } | null>(null);
  const [notice, setNotice] = useState('');
  const [rowError, setRowError] = useState<{ id: string; msg: string } | null>(null);

  const roleList: Role[] = Array.isArray(roles.data) ? roles.data : roles.data?.data ?? [];
  const ownerRole = catalogue.data?.owner_role ?? 'owner';
  const assignable = roleList.filter((r) => r.id !== ownerRole);
  const roleName = (id: string) => roleList.find((r) => r.id === id)?.name ?? id;
  // Roles that see every project show "All" in the Projects column (the first document's table).
  const seesAllProjects = (id: string) => {
    const perms = roleList.find((r) => r.id === id)?.permissions ?? [];
    return perms.includes('*') || perms.includes('projects.view_all');
  };
  const count = members.data?.total ?? members.data?.data.length ?? ws.member_count;
  const deactivated = members.data?.data.filter((m) => m.status === 'deactivated').length ?? 0;
  const suspended = members.data?.data.filter((m) => m.status === 'suspended').length ?? 0;

  async function changeRole(m: Member, role: string) {
    setRowError(null);
    setNotice('');
    try {
      await patch(wsPath(ws.id, `/members/${m.user_id}`), { role });
      setNotice(`${m.name || m.email} is now ${roleName(role)}.`);
      if (m.user_id === me?.id) invalidatePermissions(ws.id);
      members.reload();
    } catch (e) {
      setRowError({ id: m.user_id, msg: e instanceof ApiError ? e.detail : String(e) });
      members.reload();
    }
  }

  async function unsuspend(m: Member) {
    const who = m.name || m.email;
    setActionError(null);
    setNotice('');
    setUnsuspendingId(m.user_id);
    try {
      await post(wsPath(ws.id, `/members/${m.user_id}/unsuspend`));
      setNotice(`${who} is no longer suspended: their access to ${ws.name} and their API keys here work again.`);
    } catch (e) {
      setActionError({ id: m.user_id, msg: e instanceof ApiError ? e.detail || e.code : String(e) });
    } finally {
      setUnsuspendingId('');
      // After not_suspended too: the list was older than the member's state.
      members.reload();
    }
  }

  async function revoke(inv: Invitation) {
    setNotice('');
    try {
      await del(wsPath(ws.id, `/invitations/${inv.id}`));
      setNotice(`Invitation to ${inv.email} revoked.`);
      invitations.reload();
    } catch (e) {
      setRowError({ id: inv.id, msg: e instanceof ApiError ? e.detail : String(e) });
    }
  }

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Team Members</h1>
          <p class="muted" aria-live="polite">
            {count} {count === 1 ? 'member' : 'members'}
            {ws.member_limit ? ` of ${ws.member_limit} on your plan` : ''}
            {deactivated ? ` · ${deactivated} deactivated` : ''}
            {suspended ? ` · ${suspended} suspended` : ''}
          </p>
        </div>
        {canInvite && (
          <div class="page-actions">
            <button class="button secondary" type="button" onClick={() => setBulk(true)}>
              Upload CSV
            </button>
            <button class="button primary" type="button" onClick={() => setInviting(true)}>
              Invite Member
            </button>
          </div>
        )}
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>

      <Card title="Active Members">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Role</th>
                <th scope="col">Projects</th>
                <th scope="col">Last Login</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.loading && !members.data && <SkeletonRows cols={5} />}
              {members.data?.data.map((m) => {
                const self = m.user_id === me?.id;
                const isOwner = m.role === ownerRole;
                const editable = canManageRoles && !self && !isOwner;
                const off = m.status === 'deactivated';
                const held = m.status === 'suspended';
                const who = m.name || m.email;
                // Suspending needs members.remove; never oneself or the owner (the server refuses both).
                const canSuspend = canRemove && !self && !isOwner && m.status === 'active';
                const canUnsuspend = canRemove && !self && held;
                return (
                  <tr key={m.user_id} class={off ? 'deactivated' : held ? 'suspended' : undefined}>
                    <td>
                      <div class="person">
                        <Avatar name={m.name || m.email} round size={32} />
                        <div>
                          <div class="person-name">
                            {m.name || m.email}
                            {self && <span class="muted"> (You)</span>}
                          </div>
                          <div class="muted small">{m.email}</div>
                          {(m.directory_managed || off || held) && (
                            <div class="member-badges">
                              {m.directory_managed && (
                                <span title="Provisioned by your directory (SCIM): its groups set the role.">
                                  <Badge tone="blue">Directory</Badge>
                                </span>
                              )}
                              {off && <Badge tone="red">Deactivated</Badge>}
                              {held && (
                                <span title="Refused in this workspace, and their API keys here stop working, until unsuspended.">
                                  <Badge tone="yellow">Suspended</Badge>
                                </span>
                              )}
                            </div>
                          )}
                        </div>
                      </div>
                    </td>
                    <td>
                      {editable ? (
                        <>
                          <select
                            aria-label={`Role of ${m.name || m.email}`}
                            value={m.role}
                            onChange={(e) => changeRole(m, (e.target as HTMLSelectElement).value)}
                          >
                            {assignable.map((r) => (
                              <option key={r.id} value={r.id}>
                                {r.name}
                              </option>
                            ))}
                            {!assignable.some((r) => r.id === m.role) && <option value={m.role}>{m.role_name ?? m.role}</option>}
                          </select>
                          {rowError?.id === m.user_id && (
                            <p class="field-error" role="alert">
                              {rowError.msg}
                            </p>
                          )}
                        </>
                      ) : (
                        <Badge tone={isOwner ? 'blue' : 'gray'}>{m.role_name ?? roleName(m.role)}</Badge>
                      )}
                    </td>
                    <td>{isOwner || seesAllProjects(m.role) ? 'All' : m.projects.length ? m.projects.map((p) => p.name).join(', ') : '—'}</td>
                    <td>{self ? 'Now' : relativeTime(m.last_login_at)}</td>
                    <td class="actions">
                      {off && canManageRoles && (
                        <button class="button secondary small" type="button" onClick={() => setReactivating(m)} aria-label={`Reactivate ${m.name || m.email}`}>
                          Reactivate
                        </button>
                      )}
                      {canUnsuspend && (
                        <button
                          class="button secondary small"
                          type="button"
                          disabled={unsuspendingId === m.user_id}
                          onClick={() => unsuspend(m)}
                          aria-label={`Unsuspend ${who}`}
                        >
                          {unsuspendingId === m.user_id ? 'Unsuspending…' : 'Unsuspend'}
                        </button>
                      )}
                      {canSuspend && (
                        <button
                          class="button secondary small"
                          type="button"
                          onClick={() => {
                            setActionError(null);
                            setSuspending(m);
                          }}
                          aria-label={`Suspend ${who}`}
                        >
                          Suspend…
                        </button>
                      )}
                      {canRemove && !self && !isOwner ? (
                        <button class="button danger-outline small" type="button" onClick={() => setRemoving(m)} aria-label={`Remove ${who}`}>
                          Remove
                        </button>
                      ) : (off && canManageRoles) || canUnsuspend ? null : (
                        <span aria-hidden="true">–</span>
                      )}
                      {actionError?.id === m.user_id && (
                        <p class="field-error" role="alert">
                          {actionError.msg}
                        </p>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {members.error ? <FormError error={members.error as ApiError} /> : null}
      </Card>

      {canSeeInvites && (
        <Card title="Pending Invitations" subtitle="Invitations expire after 7 days.">
          {invitations.data && invitations.data.data.length === 0 ? (
            <p class="empty">No pending invitations.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Email</th>
                    <th scope="col">Role</th>
                    <th scope="col">Sent</th>
                    <th scope="col">Status</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {invitations.loading && !invitations.data && <SkeletonRows cols={5} />}
                  {invitations.data?.data.map((inv) => (
                    <tr key={inv.id}>
                      <td>{inv.email}</td>
                      <td>{roleName(inv.role)}</td>
                      <td>{formatDate(inv.created_at)}</td>
                      <td>
                        <Badge tone="yellow">{inv.status[0].toUpperCase() + inv.status.slice(1)}</Badge>
                      </td>
                      <td class="actions">
                        <button class="button danger-outline small" type="button" onClick={() => revoke(inv)} aria-label={`Revoke invitation to ${inv.email}`}>
                          Revoke
                        </button>
                        {rowError?.id === inv.id && (
                          <p class="field-error" role="alert">
                            {rowError.msg}
                          </p>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </Card>
      )}

      {inviting && (
        <InviteDialog
          ws={ws}
          roles={(catalogue.data?.roles ?? []).filter((r) => r.invitable).concat(roleList.filter((r) => !r.builtin).map((r) => ({ id: r.id, name: r.name, invitable: true })))}
          defaultRole={catalogue.data?.default_invite_role ?? ''}
          projects={projects.data?.data ?? []}
          onClose={() => setInviting(false)}
          onSent={(message) => {
            setInviting(false);
            setNotice(message);
            invitations.reload();
          }}
        />
      )}
      {bulk && (
        <BulkDialog
          ws={ws}
          onClose={() => {
            setBulk(false);
            invitations.reload();
          }}
        />
      )}
      {reactivating && (
        <ReactivateDialog
          ws={ws}
          member={reactivating}
          onClose={() => setReactivating(null)}
          onDone={() => {
            setNotice(`${reactivating.name || reactivating.email} is active again in ${ws.name}.`);
            setReactivating(null);
            members.reload();
          }}
        />
      )}
      {suspending && (
        <SuspendDialog
          ws={ws}
          member={suspending}
          onClose={() => setSuspending(null)}
          onStale={() => members.reload()}
          onDone={() => {
            setNotice(`${suspending.name || suspending.email} is suspended in ${ws.name}.`);
            setSuspending(null);
            members.reload();
          }}
        />
      )}
      {removing && (
        <RemoveDialog
          ws={ws}
          member={removing}
          onClose={() => setRemoving(null)}
          onRemoved={() => {
            setNotice(`${removing.name || removing.email} was removed from ${ws.name}.`);
            setRemoving(null);
            members.reload();
            props.reloadWs();
          }}
        />
      )}
    </div>
  );
}

export function SkeletonRows(props: { cols: number; rows?: number }) {
  return (
    <>
      {Array.from({ length: props.rows ?? 3 }, (_, i) => (
        <tr key={i} class="skeleton-row" aria-hidden="true">
          {Array.from({ length: props.cols }, (_, j) => (
            <td key={j}>
              <span class="skeleton" />
            </td>
          ))}
        </tr>
      ))}
    </>
  );
}

function InviteDialog(props: {
  ws: Workspace;
  roles: { id: string; name: string }[];
  defaultRole: string;
  projects: Project[];
  onClose: () => void;
  onSent: (message: string) => void;
}) {
  const [email, setEmail] = useState('');
  const [chosen, setChosen] = useState<string[]>([]);
  const [touched, setTouched] = useState(false);
  const [role, setRole] = useState(props.defaultRole);
  const [serverError, setServerError] = useState<string | undefined>();
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const localError = emailProblem(email);
  const shownError = serverError ?? (touched && email ? localError : undefined);

  async function submit(e: Event) {
    e.preventDefault();
    setTouched(true);
    if (localError) return;
    setBusy(true);
    setFormError(null);
    try {
      const body: any = { email: email.trim() };
      if (role && role !== props.defaultRole) body.role = role;
      if (chosen.length) body.projects = chosen;
      const r = await post<{ message: string }>(wsPath(props.ws.id, '/invitations'), body);
      props.onSent(r.message);
    } catch (err) {
      if (err instanceof ApiError && ['already_member', 'already_invited', 'invalid_email'].includes(err.code)) {
        setServerError(err.forField('email') ?? err.detail);
      } else {
        const f = fieldErrors(err, ['email', 'role']);
        if (f.fields.email) setServerError(f.fields.email);
        setFormError(f.fields.role ?? f.rest);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title="Invite Member" onClose={props.onClose} description={`They will get an email with a link to join ${props.ws.name}.`}>
      <form onSubmit={submit} noValidate>
        <div class="field">
          <label for="invite-email">Email address</label>
          <div class={'input-icon' + (shownError ? ' invalid' : '')}>
            <span class="icon" aria-hidden="true">
              ✉
            </span>
            <input
              id="invite-email"
              type="email"
              autoComplete="off"
              placeholder="colleague@company.com"
              value={email}
              autoFocus
              aria-invalid={shownError ? 'true' : undefined}
              aria-describedby="invite-email-msg"
              onInput={(e) => {
                setEmail((e.target as HTMLInputElement).value);
                setServerError(undefined);
                setTouched(true);
              }}
            />
          </div>
          <p id="invite-email-msg" class={shownError ? 'field-error' : 'field-hint'} role={shownError ? 'alert' : undefined}>
            {shownError ?? 'You can change their role after they join.'}
          </p>
        </div>
        {props.roles.length > 1 && (
          <div class="field">
            <label for="invite-role">Role</label>
            <select id="invite-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>
              {props.roles.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </div>
        )}
        {props.projects.length > 0 && (
          <fieldset>
            <legend>Add to projects (optional)</legend>
            {props.projects.map((p) => (
              <label class="checkbox" key={p.id}>
                <input
                  type="checkbox"
                  checked={chosen.includes(p.id)}
                  onChange={(e) => {
                    const on = (e.target as HTMLInputElement).checked;
                    setChosen(on ? [...chosen, p.id] : chosen.filter((x) => x !== p.id));
                  }}
                />
                {p.name}
              </label>
            ))}
          </fieldset>
        )}
        <FormError error={formError} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit" disabled={busy || !!localError}>
            {busy ? 'Sending…' : 'Send Invitation'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RemoveDialog(props: { ws: Workspace; member: Member; onClose: () => void; onRemoved: () => void }) {
  const [revokeKeys, setRevokeKeys] = useState(true);
  const [error, setError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const who = props.member.name || props.member.email;
  return (
    <Dialog title={`Remove ${who}?`} onClose={props.onClose} description={`${who} loses access to ${props.ws.name} immediately.`}>
      <label class="checkbox">
        <input type="checkbox" checked={revokeKeys} onChange={(e) => setRevokeKeys((e.target as HTMLInputElement).checked)} />
        Revoke every API key they hold here (recommended)
      </label>
      {!revokeKeys && <p class="field-hint">Their API keys stay valid and become yours: no key is left with an owner who is not a member.</p>}
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
              await del(wsPath(props.ws.id, `/members/${props.member.user_id}${revokeKeys ? '' : '?revoke_keys=false'}`));
              props.onRemoved();
            } catch (e) {
              setError(e);
              setBusy(false);
            }
          }}
        >
          Remove member
        </button>
      </div>
    </Dialog>
  );
}

export const SUSPEND_EXPLAINED =
  'They are refused in this workspace and their API keys here stop working (verify answers SUSPENDED) until you unsuspend them. Nothing is deleted.';

/** Suspends an active member, with an optional one-line reason (kept in the audit log). */
function SuspendDialog(props: { ws: Workspace; member: Member; onClose: () => void; onDone: () => void; onStale: () => void }) {
  const [reason, setReason] = useState('');
  const [reasonError, setReasonError] = useState<string | undefined>();
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  const who = props.member.name || props.member.email;
  const trimmed = reason.trim();

  async function suspend(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setReasonError(undefined);
    try {
      await post(wsPath(props.ws.id, `/members/${props.member.user_id}/suspend`), trimmed ? { reason: trimmed } : {});
      props.onDone();
    } catch (err) {
      const f = fieldErrors(err, ['reason']);
      if (f.fields.reason) setReasonError(f.fields.reason);
      else setError(f.rest);
      // The list was older than the member's state (suspended or removed meanwhile).
      if (err instanceof ApiError && ['already_suspended', 'not_found'].includes(err.code)) props.onStale();
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Suspend ${who}?`} onClose={props.onClose} description={SUSPEND_EXPLAINED}>
      <form onSubmit={suspend} noValidate>
        <div class="field">
          <label for="suspend-reason">Reason (optional)</label>
          <input
            id="suspend-reason"
            type="text"
            maxLength={500}
            autoComplete="off"
            value={reason}
            aria-invalid={reasonError ? 'true' : undefined}
            aria-describedby="suspend-reason-msg"
            onInput={(e) => {
              setReason((e.target as HTMLInputElement).value);
              setReasonError(undefined);
            }}
          />
          <p id="suspend-reason-msg" class={reasonError ? 'field-error' : 'field-hint'} role={reasonError ? 'alert' : undefined}>
            {reasonError ?? `Recorded in the audit log; ${who} does not see it.${reason.length > 400 ? ` ${reason.length} of 500 characters.` : ''}`}
          </p>
        </div>
        <FormError error={error} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button danger" type="submit" disabled={busy || reason.length > 500}>
            {busy ? 'Suspending…' : 'Suspend member'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Reactivates a deactivated member; one the directory manages needs override_directory. */
function ReactivateDialog(props: { ws: Workspace; member: Member; onClose: () => void; onDone: () => void }) {
  // The list may be older than the member's state: a 409 directory_managed asks again, with the warning.
  const [managed, setManaged] = useState(!!props.member.directory_managed);
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  const who = props.member.name || props.member.email;

  async function reactivate() {
    setBusy(true);
    setError(null);
    try {
      await post(wsPath(props.ws.id, `/members/${props.member.user_id}/reactivate`), managed ? { override_directory: true } : {});
      props.onDone();
    } catch (e) {
      if (e instanceof ApiError && e.code === 'directory_managed' && !managed) setManaged(true);
      else if (e instanceof ApiError && e.code === 'member_not_deactivated') props.onDone();
      else setError(e instanceof ApiError ? e : String(e));
      setBusy(false);
    }
  }

  return (
    <Dialog title={`Reactivate ${who}?`} onClose={props.onClose} description={`${who} gets their access to ${props.ws.name} back, with their role and API keys.`}>
      {managed && (
        <p class="warning" role="alert">
          This member is managed by your directory, which deactivated them. Reactivating here overrides it; the directory may deactivate them again on its next sync.
        </p>
      )}
      <FormError error={error} />
      <div class="dialog-actions">
        <button class="button secondary" type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button class="button primary" type="button" disabled={busy} onClick={reactivate}>
          {managed ? 'Reactivate anyway' : 'Reactivate member'}
        </button>
      </div>
    </Dialog>
  );
}

interface BulkRow {
  row: number;
  email: string;
  status: 'invited' | 'error';
  code?: string;
  detail?: string;
}

function BulkDialog(props: { ws: Workspace; onClose: () => void }) {
  const [rows, setRows] = useState<BulkRow[] | null>(null);
  const [error, setError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title="Invite from a CSV file" onClose={props.onClose} description="A header line email,role,projects, then one person per line; projects are names separated by ; or all.">
      <div class="field">
        <label for="bulk-file">CSV file</label>
        <input
          id="bulk-file"
          type="file"
          accept=".csv,text/csv"
          disabled={busy}
          onChange={async (e) => {
            const file = (e.target as HTMLInputElement).files?.[0];
            if (!file) return;
            setError(null);
            setRows(null);
            if (file.size > 1024 * 1024) {
              setError('The file is larger than 1 MB.');
              return;
            }
            setBusy(true);
            try {
              const r = await api<{ results: BulkRow[] }>('POST', wsPath(props.ws.id, '/invitations/bulk'), { raw: await file.text(), contentType: 'text/csv' });
              setRows(r.results);
            } catch (err) {
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        />
      </div>
      <FormError error={error} />
      {rows && (
        <div class="table-wrap">
          <table>
            <caption class="muted">
              {rows.filter((r) => r.status === 'invited').length} invited, {rows.filter((r) => r.status === 'error').length} failed
            </caption>
            <thead>
              <tr>
                <th scope="col">Row</th>
                <th scope="col">Email</th>
                <th scope="col">Result</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.row}>
                  <td>{r.row}</td>
                  <td>{r.email}</td>
                  <td>{r.status === 'invited' ? <Badge tone="green">Invited</Badge> : <span class="field-error">{r.detail ?? r.code}</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <div class="dialog-actions">
        <button class="button secondary" type="button" onClick={props.onClose}>
          Close
        </button>
      </div>
    </Dialog>
  );
}
