// Settings → Notifications (permission notifications.manage): who hears of what, and how. One
// rule per notification type, grouped by category (Invite & Access, Security, System): the
// channels (Email, Slack, Webhook, In-app), the recipients (admins, the person who did it,
// chosen roles and members) and the frequency (a daily digest gathers email only), saved per
// row; and the Slack connection the Slack channel posts to.
import { useEffect, useState } from 'preact/hooks';
import {
  ApiError,
  del,
  get,
  Member,
  NotificationCategory,
  NotificationChannel,
  NotificationFrequency,
  NotificationRecipients,
  NotificationRule,
  NotificationType,
  post,
  put,
  Role,
  SlackConnection,
  WebhookDelivery,
  Workspace,
  wsPath,
} from '../api';
import { usePermissions } from '../permissions';
import { Link } from '../router';
import { Badge, Card, Dialog, FormError, relativeTime, TextField, useAsync } from '../ui';

export const CATEGORIES: { id: NotificationCategory; label: string }[] = [
  { id: 'invite_access', label: 'Invite & Access' },
  { id: 'security', label: 'Security' },
  { id: 'system', label: 'System' },
];

const CHANNELS: { id: NotificationChannel; label: string }[] = [
  { id: 'email', label: 'Email' },
  { id: 'slack', label: 'Slack' },
  { id: 'webhook', label: 'Webhook' },
  { id: 'in_app', label: 'In-app' },
];

/** The roles that "Admins" means, of those the workspace has. */
const ADMIN_ROLES = ['owner', 'admin'];

export function Notifications(props: { ws: Workspace }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const can = perms.can('notifications.manage');

  if (!can) {
    return (
      <div class="page">
        <header class="page-header">
          <h1>Notifications</h1>
        </header>
        <p class="form-error" role="alert">
          Your role cannot manage notifications in this workspace (permission: Manage notifications).
        </p>
      </div>
    );
  }

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Notifications</h1>
          <p class="muted">Choose who hears about what happens in {ws.name}, and where. Each person can still turn email off for themselves in their Account settings.</p>
        </div>
      </header>
      <RulesCard ws={ws} />
      <SlackCard ws={ws} />
      <p class="muted small">
        Webhook notifications go to the endpoints under <Link href={`/w/${ws.id}/settings/webhooks`}>Webhooks</Link> that subscribe to the notification's type.
      </p>
    </div>
  );
}

// --- rules ------------------------------------------------------------------------------------

interface Draft {
  channels: NotificationChannel[];
  recipients: NotificationRecipients;
  frequency: NotificationFrequency;
}

const draftOf = (r: NotificationRule): Draft => ({
  channels: [...r.channels],
  recipients: { roles: [...r.recipients.roles], actor: r.recipients.actor, subject: !!r.recipients.subject, users: [...r.recipients.users] },
  frequency: r.frequency,
});

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

const sameDraft = (a: Draft, b: Draft) =>
  sameSet(a.channels, b.channels) &&
  sameSet(a.recipients.roles, b.recipients.roles) &&
  a.recipients.actor === b.recipients.actor &&
  a.recipients.subject === b.recipients.subject &&
  sameSet(a.recipients.users, b.recipients.users) &&
  a.frequency === b.frequency;

type Preset = 'admins' | 'admins_actor' | 'custom';

function presetOf(r: NotificationRecipients, adminRoles: string[]): Preset {
  if (!sameSet(r.roles, adminRoles) || r.users.length || r.subject) return 'custom';
  return r.actor ? 'admins_actor' : 'admins';
}

function RulesCard(props: { ws: Workspace }) {
  const ws = props.ws;
  const types = useAsync(() => get<{ data: NotificationType[] }>('/v1/notification-types'), []);
  const rules = useAsync(() => get<{ data: NotificationRule[] }>(wsPath(ws.id, '/notification-rules')), [ws.id]);
  const roles = useAsync(() => get<{ data: Role[] } | Role[]>(wsPath(ws.id, '/roles')).catch(() => [] as Role[]), [ws.id]);
  const members = useAsync(() => get<{ data: Member[] }>(wsPath(ws.id, '/members?limit=200')).catch(() => ({ data: [] as Member[] })), [ws.id]);
  const [saved, setSaved] = useState<Record<string, NotificationRule>>({});
  const [notice, setNotice] = useState('');

  const roleList: Role[] = Array.isArray(roles.data) ? roles.data : roles.data?.data ?? [];
  const adminRoles = roleList.length ? ADMIN_ROLES.filter((r) => roleList.some((x) => x.id === r)) : ADMIN_ROLES;
  const described = new Map((types.data?.data ?? []).map((t) => [t.id, t]));
  const list = (rules.data?.data ?? []).map((r) => saved[r.type] ?? r);

  return (
    <Card
      title="Notification rules"
      subtitle="Save each row after changing it. A daily digest gathers email only: Slack, webhook and in-app notifications are always sent at once."
    >
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      {rules.loading && !rules.data ? (
        <div class="skeleton" aria-hidden="true" />
      ) : rules.error ? (
        <FormError error={rules.error as ApiError} />
      ) : (
        CATEGORIES.map((c) => {
          const rows = list.filter((r) => (CATEGORIES.some((k) => k.id === r.category) ? r.category : 'system') === c.id);
          if (rows.length === 0) return null;
          return (
            <div class="table-wrap rules-wrap" key={c.id}>
              <table class="rules-table" aria-label={c.label}>
                <caption>
                  <h3>{c.label}</h3>
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Notification</th>
                    {CHANNELS.map((ch) => (
                      <th scope="col" class="channel-col" key={ch.id}>
                        {ch.label}
                      </th>
                    ))}
                    <th scope="col">Recipients</th>
                    <th scope="col">Frequency</th>
                    <th scope="col">
                      <span class="visually-hidden">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {rows.map((r) => (
                    <RuleRow
                      key={r.type}
                      ws={ws}
                      rule={r}
                      description={described.get(r.type)?.description}
                      roles={roleList}
                      members={members.data?.data ?? []}
                      adminRoles={adminRoles}
                      onSaved={(out, message) => {
                        setSaved((s) => ({ ...s, [out.type]: out }));
                        setNotice(message);
                      }}
                    />
                  ))}
                </tbody>
              </table>
            </div>
          );
        })
      )}
    </Card>
  );
}

function RuleRow(props: {
  ws: Workspace;
  rule: NotificationRule;
  description?: string;
  roles: Role[];
  members: Member[];
  adminRoles: string[];
  onSaved: (r: NotificationRule, message: string) => void;
}) {
  const r = props.rule;
  const [draft, setDraft] = useState<Draft>(draftOf(r));
  const [custom, setCustom] = useState(false);
  const [editing, setEditing] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | string | null>(null);
  useEffect(() => {
    setDraft(draftOf(r));
    setCustom(false);
  }, [r]);
  const dirty = !sameDraft(draft, draftOf(r));
  const preset = custom ? 'custom' : presetOf(draft.recipients, props.adminRoles);
  const path = wsPath(props.ws.id, `/notification-rules/${encodeURIComponent(r.type)}`);
  const errorId = `rule-${r.type.replace(/\W/g, '-')}-error`;

  const toggle = (ch: NotificationChannel, on: boolean) => {
    setError(null);
    setDraft({ ...draft, channels: on ? CHANNELS.map((c) => c.id).filter((c) => c === ch || draft.channels.includes(c)) : draft.channels.filter((c) => c !== ch) });
  };

  async function save() {
    setBusy(true);
    setError(null);
    try {
      const out = await put<NotificationRule>(path, draft);
      props.onSaved({ ...r, ...out }, `${r.name}: saved.`);
    } catch (e) {
      setError(e instanceof ApiError ? e : String(e));
    } finally {
      setBusy(false);
    }
  }

  async function reset() {
    setBusy(true);
    setError(null);
    try {
      await del(path);
      const all = await get<{ data: NotificationRule[] }>(wsPath(props.ws.id, '/notification-rules'));
      const back = all.data.find((x) => x.type === r.type);
      if (back) props.onSaved(back, `${r.name}: back to the default.`);
    } catch (e) {
      setError(e instanceof ApiError ? e : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <tr>
      <th scope="row" class="rule-name">
        <div class="person-name">{r.name}</div>
        {props.description && <div class="muted small">{props.description}</div>}
        <div class="muted small mono">{r.type}</div>
        {error && (
          <p class="field-error" role="alert" id={errorId}>
            {typeof error === 'string' ? error : error.detail || error.code}
          </p>
        )}
      </th>
      {CHANNELS.map((ch) => (
        <td class="channel-col" key={ch.id}>
          <input type="checkbox" aria-label={`${r.name}: ${ch.label}`} checked={draft.channels.includes(ch.id)} onChange={(e) => toggle(ch.id, (e.target as HTMLInputElement).checked)} />
        </td>
      ))}
      <td class="recipients-cell">
        <select
          aria-label={`${r.name}: recipients`}
          value={preset}
          onChange={(e) => {
            const v = (e.target as HTMLSelectElement).value as Preset;
            setError(null);
            if (v === 'custom') {
              setCustom(true);
              setEditing(true);
            } else {
              setCustom(false);
              setDraft({ ...draft, recipients: { roles: props.adminRoles, actor: v === 'admins_actor', subject: false, users: [] } });
            }
          }}
        >
          <option value="admins">Admins only</option>
          <option value="admins_actor">Admins + Creator</option>
          <option value="custom">Custom…</option>
        </select>
        {preset === 'custom' && (
          <div class="muted small">
            {recipientSummary(draft.recipients, props.roles)}{' '}
            <button class="link-button small" type="button" aria-label={`Choose recipients of ${r.name}`} onClick={() => setEditing(true)}>
              Change
            </button>
          </div>
        )}
      </td>
      <td>
        <select
          aria-label={`${r.name}: frequency`}
          value={draft.frequency}
          title="A daily digest applies to email only"
          onChange={(e) => setDraft({ ...draft, frequency: (e.target as HTMLSelectElement).value as NotificationFrequency })}
        >
          <option value="immediate">Immediate</option>
          <option value="daily_digest">Daily digest</option>
        </select>
        {draft.frequency === 'daily_digest' && <div class="muted small">Email only</div>}
      </td>
      <td class="actions">
        <button class="button primary small" type="button" disabled={!dirty || busy} aria-label={`Save ${r.name}`} onClick={save}>
          Save
        </button>
        {!r.is_default && (
          <button class="link-button small" type="button" disabled={busy} aria-label={`Reset ${r.name} to default`} onClick={reset}>
            Reset to default
          </button>
        )}
        {editing && (
          <RecipientsDialog
            name={r.name}
            value={draft.recipients}
            roles={props.roles}
            members={props.members}
            onClose={() => {
              setEditing(false);
              if (presetOf(draft.recipients, props.adminRoles) !== 'custom') setCustom(false);
            }}
            onDone={(recipients) => {
              setEditing(false);
              setCustom(presetOf(recipients, props.adminRoles) === 'custom');
              setDraft({ ...draft, recipients });
            }}
          />
        )}
      </td>
    </tr>
  );
}

function recipientSummary(r: NotificationRecipients, roles: Role[]): string {
  const names = r.roles.map((id) => roles.find((x) => x.id === id)?.name ?? id);
  const parts = [...names];
  if (r.actor) parts.push('the person who did it');
  if (r.subject) parts.push('the member concerned');
  if (r.users.length) parts.push(`${r.users.length} ${r.users.length === 1 ? 'member' : 'members'}`);
  return parts.length ? parts.join(', ') : 'Nobody';
}

function RecipientsDialog(props: {
  name: string;
  value: NotificationRecipients;
  roles: Role[];
  members: Member[];
  onClose: () => void;
  onDone: (r: NotificationRecipients) => void;
}) {
  const [roles, setRoles] = useState<string[]>(props.value.roles);
  const [actor, setActor] = useState(props.value.actor);
  const [subject, setSubject] = useState(props.value.subject);
  const [users, setUsers] = useState<string[]>(props.value.users);
  const [filter, setFilter] = useState('');
  const flip = (list: string[], id: string, on: boolean) => (on ? [...list.filter((x) => x !== id), id] : list.filter((x) => x !== id));
  const shown = props.members.filter((m) => !filter || `${m.name} ${m.email}`.toLowerCase().includes(filter.toLowerCase()));
  return (
    <Dialog title={`Recipients of ${props.name}`} onClose={props.onClose} description="Everyone who matches any of these receives the notification, on the channels of the rule.">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          props.onDone({ roles, actor, subject, users });
        }}
      >
        <fieldset>
          <legend>Roles</legend>
          {props.roles.map((role) => (
            <label class="checkbox" key={role.id}>
              <input type="checkbox" checked={roles.includes(role.id)} onChange={(e) => setRoles(flip(roles, role.id, (e.target as HTMLInputElement).checked))} />
              {role.name}
            </label>
          ))}
        </fieldset>
        <label class="checkbox">
          <input type="checkbox" role="switch" checked={actor} onChange={(e) => setActor((e.target as HTMLInputElement).checked)} />
          Include the person who did it
        </label>
        <label class="checkbox">
          <input type="checkbox" role="switch" checked={subject} onChange={(e) => setSubject((e.target as HTMLInputElement).checked)} />
          Include the member it is about (whose role or access changed)
        </label>
        <fieldset>
          <legend>Specific members</legend>
          {props.members.length > 8 && <TextField label="Find a member" value={filter} onValue={setFilter} placeholder="Name or email" />}
          <div class="member-picks">
            {shown.map((m) => (
              <label class="checkbox" key={m.user_id}>
                <input type="checkbox" checked={users.includes(m.user_id)} onChange={(e) => setUsers(flip(users, m.user_id, (e.target as HTMLInputElement).checked))} />
                <span>
                  {m.name} <span class="muted small">{m.email}</span>
                </span>
              </label>
            ))}
          </div>
        </fieldset>
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit">
            Done
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// --- Slack --------------------------------------------------------------------------------

function SlackCard(props: { ws: Workspace }) {
  const path = wsPath(props.ws.id, '/slack');
  const slack = useAsync(() => get<SlackConnection>(path), [path]);
  const [replacing, setReplacing] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; message: string } | null>(null);
  const [busy, setBusy] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const s = slack.data;

  async function test() {
    setBusy('test');
    setResult(null);
    setError(null);
    try {
      await post(`${path}/test`);
      setResult({ ok: true, message: 'Slack accepted the test message. Check the channel.' });
    } catch (e) {
      const detail = e instanceof ApiError ? e.detail || e.code : String(e);
      setResult({ ok: false, message: `The test message failed: ${detail}` });
    } finally {
      setBusy('');
    }
  }

  return (
    <Card title="Slack" subtitle="Notifications whose rule has the Slack channel are posted through a Slack incoming webhook.">
      {slack.loading && !s ? (
        <div class="skeleton" aria-hidden="true" />
      ) : slack.error ? (
        <FormError error={slack.error as ApiError} />
      ) : s && s.connected && !replacing ? (
        <>
          <dl class="kv">
            <dt>Webhook URL</dt>
            <dd class="mono" data-testid="slack-url">
              {s.webhook_url}
            </dd>
            <dt>Channel</dt>
            <dd>{s.channel || <span class="muted">The webhook's own channel</span>}</dd>
            <dt>Status</dt>
            <dd>{s.enabled ? <Badge tone="green">Connected</Badge> : <Badge tone="red">Disabled</Badge>}</dd>
            <dt>Since</dt>
            <dd>{relativeTime(s.created_at)}</dd>
          </dl>
          {!s.enabled && s.disabled_reason && (
            <p class="warning" role="alert">
              Slack refused the messages: {s.disabled_reason} Replace the webhook URL to connect again.
            </p>
          )}
          <div class="form-actions start">
            <button class="button secondary" type="button" disabled={!!busy} onClick={test}>
              {busy === 'test' ? 'Sending…' : 'Send test message'}
            </button>
            <button
              class="button secondary"
              type="button"
              onClick={() => {
                setResult(null);
                setReplacing(true);
              }}
            >
              Replace webhook URL
            </button>
            <button class="button danger-outline" type="button" onClick={() => setConfirming(true)}>
              Disconnect
            </button>
          </div>
          <div role="status" aria-live="polite" class="slack-result">
            {result && <p class={result.ok ? 'field-success' : 'field-error'}>{result.message}</p>}
          </div>
          <FormError error={error} />
          <SlackMessages path={path} />
        </>
      ) : (
        <SlackForm
          path={path}
          replacing={!!(s && s.connected)}
          onCancel={s && s.connected ? () => setReplacing(false) : undefined}
          onSaved={() => {
            setReplacing(false);
            setResult({ ok: true, message: 'Slack is connected. Send a test message to check it.' });
            slack.reload();
          }}
        />
      )}
      {confirming && (
        <Dialog title="Disconnect Slack?" onClose={() => setConfirming(false)} description="Notifications stop being posted to Slack. Rules keep their Slack channel, so that connecting again resumes them.">
          <div class="dialog-actions">
            <button class="button secondary" type="button" onClick={() => setConfirming(false)}>
              Cancel
            </button>
            <button
              class="button danger"
              type="button"
              onClick={async () => {
                try {
                  await del(path);
                  setConfirming(false);
                  setResult(null);
                  slack.reload();
                } catch (e) {
                  setConfirming(false);
                  setError(e instanceof ApiError ? e : String(e));
                }
              }}
            >
              Disconnect
            </button>
          </div>
        </Dialog>
      )}
    </Card>
  );
}

const MESSAGE_TONE = { pending: 'yellow', succeeded: 'green', failed: 'red' } as const;

/** The latest notifications posted to Slack, and what Slack answered. */
function SlackMessages(props: { path: string }) {
  const list = useAsync(() => get<{ data: WebhookDelivery[] }>(`${props.path}/deliveries?limit=5`).catch(() => ({ data: [] as WebhookDelivery[] })), [props.path]);
  const items = list.data?.data ?? [];
  if (items.length === 0) return null;
  return (
    <div class="form-section top-gap">
      <h3>Latest messages</h3>
      <ul class="session-list">
        {items.map((d) => (
          <li key={d.id}>
            <div>
              <span class="mono">{d.event_type}</span> <Badge tone={MESSAGE_TONE[d.status] ?? 'gray'}>{d.status === 'succeeded' ? 'Posted' : d.status === 'failed' ? 'Failed' : 'Pending'}</Badge>
              {d.last_error && <div class="muted small delivery-error">{d.last_error}</div>}
            </div>
            <span class="muted small">{relativeTime(d.created_at)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

function SlackForm(props: { path: string; replacing: boolean; onCancel?: () => void; onSaved: () => void }) {
  const [url, setUrl] = useState('');
  const [channel, setChannel] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const u = url.trim();
    if (!u) {
      setErrors({ webhook_url: 'Paste the incoming webhook URL from Slack.' });
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      const body: Record<string, string> = { webhook_url: u };
      if (channel.trim()) body.channel = channel.trim();
      await put(props.path, body);
      props.onSaved();
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) {
        const byField: Record<string, string> = {};
        for (const f of err.errors) byField[f.field] = f.message || err.detail;
        if (byField.webhook_url || byField.channel) setErrors(byField);
        else setError(err);
      } else setError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form class="stack-form" onSubmit={submit} noValidate>
      {!props.replacing && <p class="muted">In Slack, add the Incoming Webhooks app to a channel and paste its webhook URL here.</p>}
      <TextField
        label="Slack webhook URL"
        type="url"
        value={url}
        onValue={setUrl}
        placeholder="https://hooks.slack.com/services/…"
        autoComplete="off"
        error={errors.webhook_url}
        hint="Gatehouse keeps it secret: only its beginning is shown afterwards."
      />
      <TextField label="Channel" value={channel} onValue={setChannel} placeholder="#alerts" hint="Optional: the webhook's own channel when empty." error={errors.channel} />
      <FormError error={error} />
      <div class="form-actions start">
        {props.onCancel && (
          <button class="button secondary" type="button" onClick={props.onCancel}>
            Cancel
          </button>
        )}
        <button class="button primary" type="submit" disabled={busy}>
          {busy ? 'Connecting…' : props.replacing ? 'Save webhook URL' : 'Connect Slack'}
        </button>
      </div>
    </form>
  );
}
