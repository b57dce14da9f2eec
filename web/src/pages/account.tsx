// Settings → Account (personal): profile, role in this workspace, security overview, sessions,
// password change, and the Danger Zone that deletes the account.
import { useState } from 'preact/hooks';
import { ApiError, del, get, patch, post, Workspace } from '../api';
import { usePermissions } from '../permissions';
import { navigate } from '../router';
import { useSession } from '../session';
import { TwoStepRow } from './mfa';
import { NotificationPreferencesCard } from './notification_preferences';
import { Avatar, Badge, Card, Dialog, FormError, relativeTime, TextField, useAsync } from '../ui';

interface SessionRow {
  id: string;
  current: boolean;
  device: string;
  browser: string;
  ip: string;
  /** From the server's GeoIP database; null for private addresses or without one. */
  location: { country: string; country_name: string } | null;
  created_at: string;
  last_active_at: string;
  /** How the session was made: a password login, or single sign-on through a connection. */
  method?: 'password' | 'sso';
  connection?: string | null;
}

export function Account(props: { ws: Workspace }) {
  const { me, reload } = useSession();
  const sessions = useAsync(() => get<{ data: SessionRow[] } | SessionRow[]>('/v1/me/sessions'), []);
  const list: SessionRow[] = Array.isArray(sessions.data) ? sessions.data : sessions.data?.data ?? [];
  const [name, setName] = useState(me?.name ?? '');
  const [nameMsg, setNameMsg] = useState('');
  const [nameErr, setNameErr] = useState<string | undefined>();
  const [error, setError] = useState<any>(null);
  const perms = usePermissions(props.ws.id);
  const roleName = perms.roleName || props.ws.role;
  if (!me) return null;
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Account</h1>
          <p class="muted">Personal settings: they follow you in every workspace.</p>
        </div>
      </header>
      <Card label="Profile">
        <div class="profile">
          <Avatar name={me.name || me.email} src={me.avatar_url} size={64} round label={`${me.name} avatar`} />
          <div>
            <div class="profile-name">{me.name}</div>
            <div class="muted">{me.email}</div>
            <div class="muted">
              {String(roleName).toLowerCase()} at {props.ws.name}
            </div>
          </div>
        </div>
        <form
          class="inline-form"
          noValidate
          onSubmit={async (e) => {
            e.preventDefault();
            setNameErr(undefined);
            setNameMsg('');
            try {
              await patch('/v1/me', { name: name.trim() });
              setNameMsg('Name updated.');
              reload();
            } catch (err) {
              setNameErr(err instanceof ApiError ? err.forField('name') ?? err.detail : String(err));
            }
          }}
        >
          <TextField label="Full name" value={name} onValue={setName} error={nameErr} success={nameMsg} />
          <button class="button primary" type="submit" disabled={name.trim() === me.name || !name.trim()}>
            Save
          </button>
        </form>
      </Card>
      <Card title="Security Overview">
        <TwoStepRow />
        <div class="security-row">
          <div>
            <strong>Active Devices</strong>
            <p class="muted">Browsers and devices signed in to your account.</p>
          </div>
          <span>{sessions.data ? `${list.length} ${list.length === 1 ? 'device' : 'devices'}` : '…'}</span>
        </div>
      </Card>
      <Card
        title="Sessions"
        actions={
          list.length > 1 && (
            <button
              class="button secondary small"
              type="button"
              onClick={async () => {
                try {
                  await post('/v1/me/sessions/revoke-all');
                  sessions.reload();
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Sign out all other sessions
            </button>
          )
        }
      >
        <ul class="session-list">
          {list.map((s) => (
            <li key={s.id}>
              <div>
                <strong>
                  {s.browser || 'Unknown browser'} on {s.device || 'unknown device'}
                </strong>{' '}
                {s.current && <Badge tone="green">This device</Badge>} {s.method === 'sso' && <Badge tone="blue">Single sign-on</Badge>}
                <div class="muted small">
                  {s.ip}
                  {s.location ? ` · ${s.location.country_name}` : ''} · last active {relativeTime(s.last_active_at)}
                </div>
              </div>
              {!s.current && (
                <button
                  class="button danger-outline small"
                  type="button"
                  onClick={async () => {
                    try {
                      await del(`/v1/me/sessions/${s.id}`);
                      sessions.reload();
                    } catch (e) {
                      setError(e);
                    }
                  }}
                >
                  Sign out
                </button>
              )}
            </li>
          ))}
        </ul>
        <FormError error={error} />
      </Card>
      <NotificationPreferencesCard />
      <PasswordCard onChanged={sessions.reload} />
      <DeleteAccountCard />
    </div>
  );
}

function PasswordCard(props: { onChanged: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [other, setOther] = useState<any>(null);
  const [done, setDone] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setDone('');
    setOther(null);
    const local: Record<string, string> = {};
    if (!current) local.current_password = 'Enter your current password.';
    if ([...next].length < 12) local.new_password = 'The new password needs at least 12 characters.';
    else if (next !== repeat) local.repeat = 'The two new passwords differ.';
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const r = await post<{ revoked_sessions: number }>('/v1/me/password', { current_password: current, new_password: next });
      setCurrent('');
      setNext('');
      setRepeat('');
      const n = r.revoked_sessions;
      setDone(`Password changed. ${n === 0 ? 'No other session was' : n === 1 ? '1 other session was' : `${n} other sessions were`} signed out.`);
      props.onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) {
        const byField: Record<string, string> = {};
        for (const f of err.errors) byField[f.field] = f.message;
        setErrors(byField);
      } else {
        setOther(err);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Change password" subtitle="Changing it signs out every other session.">
      <form class="stack-form" noValidate onSubmit={submit}>
        <TextField label="Current password" type="password" autoComplete="current-password" value={current} onValue={setCurrent} error={errors.current_password} />
        <TextField label="New password" type="password" autoComplete="new-password" hint="At least 12 characters." value={next} onValue={setNext} error={errors.new_password} />
        <TextField label="Repeat new password" type="password" autoComplete="new-password" value={repeat} onValue={setRepeat} error={errors.repeat} success={done} />
        <FormError error={other} />
        <div>
          <button class="button primary" type="submit" disabled={busy}>
            Change password
          </button>
        </div>
      </form>
    </Card>
  );
}

function DeleteAccountCard() {
  const { reload } = useSession();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<any>(null);
  const fieldError = (f: string) => (error instanceof ApiError ? error.forField(f) : undefined);
  return (
    <Card title="Danger Zone" class="danger-card" label="Delete account">
      <div class="danger-row">
        <div>
          <strong>Delete Account</strong>
          <p class="muted">
            Removes you from every workspace, signs out every session and revokes your API keys. Workspaces you own must be transferred or deleted first. This cannot be undone.
          </p>
        </div>
        <button class="button danger" type="button" onClick={() => setOpen(true)}>
          Delete Account
        </button>
      </div>
      {open && (
        <Dialog title="Delete your account?" onClose={() => setOpen(false)} description="Enter your password and type DELETE to confirm.">
          <form
            noValidate
            onSubmit={async (e) => {
              e.preventDefault();
              setError(null);
              try {
                await del('/v1/me', { password, confirm: typed });
                localStorage.removeItem('gh.workspace');
                await reload();
                navigate('/login', true);
              } catch (err) {
                setError(err);
              }
            }}
          >
            <TextField label="Password" type="password" autoComplete="current-password" value={password} onValue={setPassword} error={fieldError('password')} />
            <TextField label="Type DELETE to confirm" value={typed} onValue={setTyped} autoComplete="off" error={fieldError('confirm')} />
            <FormError error={error instanceof ApiError && (error.forField('confirm') || error.forField('password')) ? null : error} />
            <div class="dialog-actions">
              <button class="button secondary" type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button class="button danger" type="submit" disabled={typed !== 'DELETE' || !password}>
                Delete account
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </Card>
  );
}
