// Settings → Account (personal): profile, role in this workspace, security overview, sessions.
import { useState } from 'preact/hooks';
import { ApiError, del, get, patch, post, Workspace } from '../api';
import { usePermissions } from '../permissions';
import { useSession } from '../session';
import { TwoStepRow } from './mfa';
import { Avatar, Badge, Card, FormError, relativeTime, TextField, useAsync } from '../ui';

interface SessionRow {
  id: string;
  current: boolean;
  device: string;
  browser: string;
  ip: string;
  created_at: string;
  last_active_at: string;
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
                {s.current && <Badge tone="green">This device</Badge>}
                <div class="muted small">
                  {s.ip} · last active {relativeTime(s.last_active_at)}
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
    </div>
  );
}
