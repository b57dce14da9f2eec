// Settings → Webhooks (permission webhooks.manage): the workspace's endpoints, each signed with
// a secret shown once (at creation and at rotation), an event filter, a test message, and the
// delivery log with manual retry. A 410 from the receiver disables an endpoint: its reason is
// shown beside the switch that enables it again.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, del, get, Page, patch, post, WebhookDelivery, WebhookEndpoint, WebhookWithSecret, Workspace, wsPath } from '../api';
import { usePermissions } from '../permissions';
import { navigate, useLocation } from '../router';
import { Badge, Card, CopyField, Dialog, Field, FormError, relativeTime, TextField, useAsync } from '../ui';
import { SkeletonRows } from './team';

export function Webhooks(props: { ws: Workspace }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const can = perms.can('webhooks.manage');
  const loc = useLocation();
  const selected = loc.query.get('endpoint');
  const base = `/w/${ws.id}/settings/webhooks`;
  const endpoints = useAsync(
    () => (can ? get<{ data: WebhookEndpoint[] }>(wsPath(ws.id, '/webhooks')) : Promise.resolve({ data: [] as WebhookEndpoint[] })),
    [ws.id, can],
  );
  const [adding, setAdding] = useState(false);
  const [secret, setSecret] = useState<{ title: string; endpoint: WebhookWithSecret } | null>(null);
  const [notice, setNotice] = useState('');

  if (!can) {
    return (
      <div class="page">
        <header class="page-header">
          <h1>Webhooks</h1>
        </header>
        <p class="form-error" role="alert">
          Your role cannot manage webhooks in this workspace (permission: Manage webhooks).
        </p>
      </div>
    );
  }

  const list = endpoints.data?.data ?? [];
  const current = selected ? list.find((e) => e.id === selected) : undefined;
  const secretDialog = secret && <SecretDialog title={secret.title} endpoint={secret.endpoint} onClose={() => setSecret(null)} />;

  if (selected) {
    return (
      <div class="page">
        <p class="back-link">
          <a
            href={base}
            onClick={(e) => {
              e.preventDefault();
              setNotice('');
              navigate(base);
            }}
          >
            ← All endpoints
          </a>
        </p>
        {endpoints.loading && !current ? (
          <div class="loading" aria-busy="true">
            Loading…
          </div>
        ) : !current ? (
          <p class="form-error" role="alert">
            This endpoint does not exist any more, or belongs to another workspace.
          </p>
        ) : (
          <EndpointDetail
            ws={ws}
            endpoint={current}
            onChanged={endpoints.reload}
            onRotated={(e) => {
              endpoints.reload();
              setSecret({ title: 'Signing secret rotated', endpoint: e });
            }}
            onDeleted={() => {
              endpoints.reload();
              navigate(base);
              setNotice(`The endpoint ${current.url} was deleted.`);
            }}
          />
        )}
        {secretDialog}
      </div>
    );
  }

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Webhooks</h1>
          <p class="muted">Send the workspace's events (members, keys, projects, settings…) to your own HTTPS endpoints, signed per Standard Webhooks.</p>
        </div>
        <div class="page-actions">
          <button class="button primary" type="button" onClick={() => setAdding(true)}>
            Add endpoint
          </button>
        </div>
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <Card title="Endpoints">
        <div class="table-wrap">
          <table class="webhooks-table" aria-label="Webhook endpoints">
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col" class="hide-phone">
                  Events
                </th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {endpoints.loading && !endpoints.data && <SkeletonRows cols={4} rows={2} />}
              {endpoints.data && list.length === 0 && (
                <tr>
                  <td colSpan={4} class="empty">
                    No endpoints yet. Add one to receive this workspace's events.
                  </td>
                </tr>
              )}
              {list.map((e) => (
                <tr key={e.id}>
                  <td class="domains">
                    <div class="person-name mono">{e.url}</div>
                    {e.description && <div class="muted small">{e.description}</div>}
                    <div class="muted small show-phone">{eventSummary(e.event_types)}</div>
                  </td>
                  <td class="hide-phone">{eventSummary(e.event_types)}</td>
                  <td>{statusBadge(e)}</td>
                  <td class="actions">
                    <button
                      class="button secondary small"
                      type="button"
                      aria-label={`Manage ${e.url}`}
                      onClick={() => {
                        setNotice('');
                        navigate(`${base}?endpoint=${e.id}`);
                      }}
                    >
                      Manage
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {endpoints.error ? <FormError error={endpoints.error as ApiError} /> : null}
      </Card>
      <SigningCard />
      {adding && (
        <EndpointDialog
          ws={ws}
          onClose={() => setAdding(false)}
          onSaved={(e) => {
            setAdding(false);
            endpoints.reload();
            if ('secret' in e) setSecret({ title: 'Endpoint added', endpoint: e as WebhookWithSecret });
            navigate(`${base}?endpoint=${e.id}`);
          }}
        />
      )}
      {secretDialog}
    </div>
  );
}

/** "All events", or the filter's entries ("member.*, api_key.revoked"). */
export function eventSummary(types: string[]): string {
  if (types.length === 0) return 'All events';
  if (types.length <= 3) return types.join(', ');
  return `${types.slice(0, 3).join(', ')} and ${types.length - 3} more`;
}

function statusBadge(e: WebhookEndpoint) {
  if (e.enabled) return <Badge tone="green">Enabled</Badge>;
  return <Badge tone={e.disabled_reason ? 'red' : 'gray'}>Disabled</Badge>;
}

function SigningCard() {
  return (
    <Card title="Verifying deliveries">
      <p class="muted">
        Each delivery is a <code>POST</code> with the headers <code>webhook-id</code>, <code>webhook-timestamp</code> and <code>webhook-signature</code>: an HMAC-SHA256 of{' '}
        <code>{'{id}.{timestamp}.{body}'}</code> with the endpoint's signing secret. Any Standard Webhooks library verifies it. Answer with a 2xx within 10 seconds; other answers are
        retried for about 30 hours, and <code>410 Gone</code> disables the endpoint.
      </p>
    </Card>
  );
}

// --- the add and edit form ----------------------------------------------------------------

const EVENT_TYPE = /^[a-z][a-z0-9_]{0,63}\.([a-z][a-z0-9_]{0,63}|\*)$/;

/** Event types as chips: type one and press Enter (or a comma); empty means every event. */
function EventTypesField(props: { value: string[]; onValue: (v: string[]) => void; error?: string }) {
  const [text, setText] = useState('');
  const [local, setLocal] = useState('');
  const inputRef = useRef<HTMLInputElement>(null);
  const add = () => {
    const items = text
      .split(/[\s,]+/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (items.length === 0) return;
    const bad = items.find((t) => !EVENT_TYPE.test(t));
    if (bad) {
      setLocal(`“${bad}” is not an event type: use a name like api_key.revoked, or a noun followed by .* (member.*).`);
      return;
    }
    setLocal('');
    props.onValue(Array.from(new Set([...props.value, ...items])));
    setText('');
  };
  const error = local || props.error;
  return (
    <Field
      label="Event types"
      error={error}
      hint={
        <>
          Leave empty to receive every event. Type an event like <code>api_key.revoked</code> or a group like <code>member.*</code>, then press Enter.
        </>
      }
    >
      {(id, describedBy) => (
        <div class="chips-input">
          {props.value.length > 0 && (
            <ul class="chips" aria-label="Chosen event types">
              {props.value.map((t) => (
                <li class="chip" key={t}>
                  <span class="mono">{t}</span>
                  <button
                    type="button"
                    class="chip-remove"
                    aria-label={`Remove ${t}`}
                    onClick={() => {
                      props.onValue(props.value.filter((x) => x !== t));
                      inputRef.current?.focus();
                    }}
                  >
                    ×
                  </button>
                </li>
              ))}
            </ul>
          )}
          <div class="copy-row">
            <input
              id={id}
              ref={inputRef}
              class="mono"
              value={text}
              placeholder="member.*"
              autoComplete="off"
              aria-invalid={error ? 'true' : undefined}
              aria-describedby={describedBy}
              onInput={(e) => {
                setLocal('');
                setText((e.target as HTMLInputElement).value);
              }}
              onKeyDown={(e) => {
                if (e.key === 'Enter' || e.key === ',') {
                  e.preventDefault();
                  add();
                } else if (e.key === 'Backspace' && !text && props.value.length) {
                  props.onValue(props.value.slice(0, -1));
                }
              }}
            />
            <button type="button" class="button secondary" onClick={add} disabled={!text.trim()}>
              Add event type
            </button>
          </div>
        </div>
      )}
    </Field>
  );
}

function EndpointDialog(props: { ws: Workspace; endpoint?: WebhookEndpoint; onClose: () => void; onSaved: (e: WebhookEndpoint | WebhookWithSecret) => void }) {
  const editing = props.endpoint;
  const [url, setUrl] = useState(editing?.url ?? '');
  const [description, setDescription] = useState(editing?.description ?? '');
  const [types, setTypes] = useState<string[]>(editing?.event_types ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const local: Record<string, string> = {};
    const u = url.trim();
    if (!u) local.url = 'Enter the URL that receives the events.';
    else if (!/^https?:\/\/[^\s/]+/i.test(u)) local.url = 'Enter a full URL, starting with https://.';
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const body = { url: u, description: description.trim(), event_types: types };
      const out = editing
        ? await patch<WebhookEndpoint>(wsPath(props.ws.id, `/webhooks/${editing.id}`), body)
        : await post<WebhookWithSecret>(wsPath(props.ws.id, '/webhooks'), { ...body, enabled: true });
      props.onSaved(out);
    } catch (err) {
      if (err instanceof ApiError && err.errors.length) {
        const byField: Record<string, string> = {};
        for (const f of err.errors) byField[f.field] = f.message || err.detail;
        if (byField.url || byField.description || byField.event_types) {
          // A private address names the URL field; say what the server said, there.
          setErrors(byField);
        } else setError(err);
      } else setError(err instanceof ApiError ? err : String(err));
      setBusy(false);
    }
  }

  return (
    <Dialog
      title={editing ? 'Edit endpoint' : 'Add webhook endpoint'}
      onClose={props.onClose}
      description={editing ? undefined : 'Gatehouse sends a signed POST to this URL for each event you choose.'}
    >
      <form onSubmit={submit} noValidate>
        <TextField label="Endpoint URL" type="url" value={url} onValue={setUrl} placeholder="https://example.com/webhooks/gatehouse" error={errors.url} autoFocus autoComplete="off" />
        <TextField label="Description" value={description} onValue={setDescription} placeholder="Sync members to our CRM" hint="Optional." error={errors.description} />
        <EventTypesField value={types} onValue={setTypes} error={errors.event_types} />
        <FormError error={error} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit" disabled={busy}>
            {busy ? 'Saving…' : editing ? 'Save changes' : 'Add endpoint'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function SecretDialog(props: { title: string; endpoint: WebhookWithSecret; onClose: () => void }) {
  const rotated = !!props.endpoint.previous_secret_expires_at;
  return (
    <Dialog title={props.title} onClose={props.onClose}>
      <p class="warning" role="alert">
        Copy this signing secret now. It will not be shown again.
      </p>
      <CopyField
        id="webhook-secret"
        label="Signing secret"
        value={props.endpoint.secret}
        hint={
          rotated
            ? 'For the next 24 hours deliveries carry a signature with the old secret and one with this one, so your receiver can switch over without missing any.'
            : 'Your receiver verifies each delivery with it.'
        }
      />
      <div class="dialog-actions">
        <button class="button primary" type="button" onClick={props.onClose}>
          I have copied it
        </button>
      </div>
    </Dialog>
  );
}

// --- one endpoint ---------------------------------------------------------------------------

function EndpointDetail(props: {
  ws: Workspace;
  endpoint: WebhookEndpoint;
  onChanged: () => void;
  onRotated: (e: WebhookWithSecret) => void;
  onDeleted: () => void;
}) {
  const e = props.endpoint;
  const path = (rest = '') => wsPath(props.ws.id, `/webhooks/${e.id}${rest}`);
  const [notice, setNotice] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState('');
  const [dialog, setDialog] = useState<'' | 'edit' | 'rotate' | 'delete'>('');
  // Bumped after a test or a retry, so that the deliveries reload.
  const [changes, setChanges] = useState(0);

  async function act(what: string, fn: () => Promise<void>) {
    setBusy(what);
    setError(null);
    setNotice('');
    try {
      await fn();
    } catch (err) {
      setError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy('');
    }
  }

  // The switch follows the click at once, and goes back if the server refuses.
  const [enabledView, setEnabledView] = useState(e.enabled);
  useEffect(() => setEnabledView(e.enabled), [e.enabled]);
  const setEnabled = (enabled: boolean) => {
    setEnabledView(enabled);
    return act('enable', async () => {
      try {
        await patch(path(), { enabled });
      } catch (err) {
        setEnabledView(!enabled);
        throw err;
      }
      props.onChanged();
      setNotice(enabled ? 'The endpoint is enabled: new events are delivered to it again.' : 'The endpoint is disabled: no events are sent to it.');
    });
  };

  return (
    <>
      <header class="page-header">
        <div class="min0">
          <h1>
            Webhook endpoint {statusBadge(e)}
          </h1>
          <p class="mono endpoint-url">{e.url}</p>
          {e.description && <p class="muted">{e.description}</p>}
        </div>
        <div class="page-actions">
          <button class="button secondary" type="button" disabled={!!busy || !e.enabled} onClick={() =>
            act('test', async () => {
              const d = await post<WebhookDelivery>(path('/test'));
              setChanges((n) => n + 1);
              setNotice(`Test event sent (${d.id}). Its delivery is listed below.`);
            })
          }>
            {busy === 'test' ? 'Sending…' : 'Send test event'}
          </button>
          <button class="button secondary" type="button" onClick={() => setDialog('edit')}>
            Edit
          </button>
          <button class="button secondary" type="button" onClick={() => setDialog('rotate')}>
            Rotate secret
          </button>
          <button class="button danger-outline" type="button" onClick={() => setDialog('delete')}>
            Delete
          </button>
        </div>
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <FormError error={error} />

      <Card title="Settings">
        {!e.enabled && e.disabled_reason && (
          <p class="warning" role="alert">
            Gatehouse disabled this endpoint: {e.disabled_reason} Enable it again once the receiver is ready.
          </p>
        )}
        <label class="checkbox">
          <input type="checkbox" role="switch" checked={enabledView} disabled={busy === 'enable'} onChange={(ev) => setEnabled((ev.target as HTMLInputElement).checked)} />
          Enabled
        </label>
        <dl class="kv">
          <dt>Events</dt>
          <dd>{eventSummary(e.event_types)}</dd>
          <dt>Created</dt>
          <dd>{relativeTime(e.created_at)}</dd>
          {e.previous_secret_expires_at && Date.parse(e.previous_secret_expires_at) > Date.now() && (
            <>
              <dt>Previous secret</dt>
              <dd>Still signs beside the new one until {new Date(e.previous_secret_expires_at).toLocaleString()}</dd>
            </>
          )}
        </dl>
      </Card>

      <DeliveriesCard ws={props.ws} endpoint={e} changes={changes} onRetried={(m) => setNotice(m)} onError={setError} />

      {dialog === 'edit' && (
        <EndpointDialog
          ws={props.ws}
          endpoint={e}
          onClose={() => setDialog('')}
          onSaved={() => {
            setDialog('');
            props.onChanged();
            setNotice('Endpoint saved.');
          }}
        />
      )}
      {dialog === 'rotate' && (
        <ConfirmDialog
          title="Rotate the signing secret?"
          description="A new secret signs every delivery from now on. The current one keeps signing beside it for 24 hours, so that your receiver can switch over without missing a delivery."
          action="Rotate secret"
          onClose={() => setDialog('')}
          onConfirm={async () => {
            const out = await post<WebhookWithSecret>(path('/rotate-secret'));
            setDialog('');
            props.onRotated(out);
          }}
        />
      )}
      {dialog === 'delete' && (
        <ConfirmDialog
          title="Delete this endpoint?"
          description={`Gatehouse stops sending events to ${e.url} and deletes its delivery log. This cannot be undone.`}
          action="Delete endpoint"
          danger
          onClose={() => setDialog('')}
          onConfirm={async () => {
            await del(path());
            setDialog('');
            props.onDeleted();
          }}
        />
      )}
    </>
  );
}

function ConfirmDialog(props: { title: string; description: string; action: string; danger?: boolean; onClose: () => void; onConfirm: () => Promise<void> }) {
  const [error, setError] = useState<ApiError | string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Dialog title={props.title} onClose={props.onClose} description={props.description}>
      <FormError error={error} />
      <div class="dialog-actions">
        <button class="button secondary" type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button
          class={'button ' + (props.danger ? 'danger' : 'primary')}
          type="button"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            try {
              await props.onConfirm();
            } catch (e) {
              setError(e instanceof ApiError ? e : String(e));
              setBusy(false);
            }
          }}
        >
          {props.action}
        </button>
      </div>
    </Dialog>
  );
}

const DELIVERY_TONE = { pending: 'yellow', succeeded: 'green', failed: 'red' } as const;
const DELIVERY_WORD = { pending: 'Pending', succeeded: 'Succeeded', failed: 'Failed' } as const;
const PAGE = 20;

function DeliveriesCard(props: { ws: Workspace; endpoint: WebhookEndpoint; changes: number; onRetried: (m: string) => void; onError: (e: ApiError | string) => void }) {
  const path = wsPath(props.ws.id, `/webhooks/${props.endpoint.id}/deliveries`);
  const [pages, setPages] = useState<WebhookDelivery[][]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const first = useAsync(() => get<Page<WebhookDelivery>>(`${path}?limit=${PAGE}`), [path, props.changes, tick]);
  const [more, setMore] = useState(false);
  const [retrying, setRetrying] = useState('');
  useEffect(() => {
    if (first.data) {
      setPages([first.data.data]);
      setNext(first.data.next_cursor);
    }
  }, [first.data]);
  const list = pages.flat();
  // While a delivery of the first page is on its way, look again every few seconds (only
  // while the tab is visible): the worker sends it within moments.
  const pending = (pages[0] ?? []).some((d) => d.status === 'pending');
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') setTick((n) => n + 1);
    }, 3000);
    return () => clearInterval(t);
  }, [pending]);

  async function loadMore() {
    if (!next) return;
    setMore(true);
    try {
      const p = await get<Page<WebhookDelivery>>(`${path}?limit=${PAGE}&cursor=${encodeURIComponent(next)}`);
      setPages([...pages, p.data]);
      setNext(p.next_cursor);
    } catch (e) {
      props.onError(e instanceof ApiError ? e : String(e));
    } finally {
      setMore(false);
    }
  }

  async function retry(d: WebhookDelivery) {
    setRetrying(d.id);
    try {
      await post(`${path}/${d.id}/retry`);
      props.onRetried(`Delivery ${d.id} is being sent again.`);
      setTick((n) => n + 1);
    } catch (e) {
      if (e instanceof ApiError && e.code === 'delivery_pending') props.onError('This delivery is still being attempted: retry it once it has succeeded or failed.');
      else props.onError(e instanceof ApiError ? e : String(e));
    } finally {
      setRetrying('');
    }
  }

  return (
    <Card
      title="Deliveries"
      subtitle="Newest first. Failed deliveries are retried automatically for about 30 hours."
      actions={
        <button class="button secondary small" type="button" onClick={() => setTick((n) => n + 1)} disabled={first.loading}>
          Refresh
        </button>
      }
    >
      <div class="table-wrap">
        <table class="deliveries-table" aria-label="Deliveries">
          <thead>
            <tr>
              <th scope="col">Event</th>
              <th scope="col">Status</th>
              <th scope="col">Attempts</th>
              <th scope="col">Response</th>
              <th scope="col" class="hide-phone">
                Next attempt
              </th>
              <th scope="col" class="hide-phone">
                Created
              </th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {first.loading && !first.data && <SkeletonRows cols={7} rows={2} />}
            {first.data && list.length === 0 && (
              <tr>
                <td colSpan={7} class="empty">
                  No deliveries yet. Send a test event to try the endpoint.
                </td>
              </tr>
            )}
            {list.map((d) => (
              <tr key={d.id}>
                <td>
                  <div class="mono">{d.event_type}</div>
                  <div class="muted small mono hide-phone">{d.id}</div>
                </td>
                <td>
                  <Badge tone={DELIVERY_TONE[d.status] ?? 'gray'}>{DELIVERY_WORD[d.status] ?? d.status}</Badge>
                </td>
                <td>{d.attempts}</td>
                <td>
                  {d.last_status_code ?? <span class="muted">—</span>}
                  {d.last_error && <div class="muted small delivery-error">{d.last_error}</div>}
                </td>
                <td class="hide-phone">{d.status === 'pending' && d.next_attempt_at ? relativeWhen(d.next_attempt_at) : <span class="muted">—</span>}</td>
                <td class="hide-phone">
                  <time dateTime={d.created_at} title={d.created_at.replace('T', ' ').replace('Z', ' UTC')}>
                    {relativeTime(d.created_at)}
                  </time>
                </td>
                <td class="actions">
                  {d.status !== 'pending' && (
                    <button class="button secondary small" type="button" aria-label={`Retry ${d.id}`} disabled={retrying === d.id} onClick={() => retry(d)}>
                      Retry
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {first.error ? <FormError error={first.error as ApiError} /> : null}
      {next && (
        <div class="pager">
          <button class="button secondary small" type="button" onClick={loadMore} disabled={more}>
            {more ? 'Loading…' : 'Load older deliveries'}
          </button>
        </div>
      )}
    </Card>
  );
}

/** "now", "in 5 min", "in 2 hours" for a time ahead; relativeTime for one past. */
function relativeWhen(iso: string): string {
  const s = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (s <= 30) return 'now';
  const m = Math.round(s / 60);
  if (m < 60) return `in ${m} min`;
  const h = Math.round(m / 60);
  return `in ${h} hour${h === 1 ? '' : 's'}`;
}
