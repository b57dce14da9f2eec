// Audit Log: the first document's table (timestamp, user, action, details), filters by user,
// action and date range, cursor pagination, and Export CSV with the same filters.
import { useState } from 'preact/hooks';
import { ApiError, AuditEvent, get, Member, Page, Workspace, wsPath } from '../api';
import { PermissionGuard } from '../permissions';
import { Card, FormError, SelectField, TextField, useAsync } from '../ui';
import { SkeletonRows } from './team';

interface Filters {
  actor: string;
  action: string;
  from: string;
  to: string;
}

const EMPTY: Filters = { actor: '', action: '', from: '', to: '' };

function query(f: Filters, cursor?: string): string {
  const q = new URLSearchParams();
  if (f.actor) q.set('actor', f.actor);
  if (f.action.trim()) q.set('action', f.action.trim());
  if (f.from) q.set('from', f.from + 'T00:00:00Z');
  if (f.to) q.set('to', f.to + 'T23:59:59Z');
  if (cursor) q.set('cursor', cursor);
  q.set('limit', '50');
  return q.toString();
}

function timestamp(iso: string): string {
  return iso.replace('T', ' ').replace('Z', '');
}

function details(e: AuditEvent): string {
  const parts: string[] = [];
  if (e.target?.name) parts.push(e.target.name);
  // Ids are in the export; the table shows what a person reads.
  for (const [k, v] of Object.entries(e.details ?? {})) {
    if (v === null || v === undefined || v === '' || typeof v === 'object') continue;
    if (k === 'id' || k.endsWith('_id') || k === 'invited_by' || (k === 'name' && v === e.target?.name)) continue;
    if (k === 'from' && 'from_name' in (e.details ?? {})) continue;
    if (k === 'to' && 'to_name' in (e.details ?? {})) continue;
    parts.push(`${k.replace(/_name$/, '').replace(/_/g, ' ')}: ${v}`);
  }
  return parts.join(' · ') || '—';
}

export function AuditLog(props: { ws: Workspace }) {
  const ws = props.ws;
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // Cursors of the pages before the current one, for "Newer".
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const events = useAsync(() => get<Page<AuditEvent>>(wsPath(ws.id, '/audit-logs?' + query(filters, cursor))), [ws.id, filters, cursor]);
  const members = useAsync(() => get<Page<Member>>(wsPath(ws.id, '/members?limit=200')), [ws.id]);

  const apply = (e: Event) => {
    e.preventDefault();
    setCursors([]);
    setFilters({ ...draft });
  };
  const exportHref = wsPath(ws.id, '/audit-logs/export?' + query(filters).replace(/&?limit=50/, ''));

  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Audit Log</h1>
          <p class="muted">Who did what in {ws.name}, newest first. The log is tamper-evident.</p>
        </div>
        <PermissionGuard ws={ws.id} permission="audit_log.export">
          <div class="page-actions">
            <a class="button secondary" href={exportHref} download="audit-log.csv">
              Export CSV
            </a>
          </div>
        </PermissionGuard>
      </header>
      <Card label="Filters">
        <form class="filters" onSubmit={apply} aria-label="Audit log filters">
          <SelectField
            label="User"
            value={draft.actor}
            onValue={(v) => setDraft({ ...draft, actor: v })}
            options={[{ value: '', label: 'Anyone' }, ...(members.data?.data ?? []).map((m) => ({ value: m.user_id, label: m.name || m.email }))]}
          />
          <TextField label="Action" value={draft.action} onValue={(v) => setDraft({ ...draft, action: v })} placeholder="member.* or api_key.created" />
          <TextField label="From" type="date" value={draft.from} onValue={(v) => setDraft({ ...draft, from: v })} />
          <TextField label="To" type="date" value={draft.to} onValue={(v) => setDraft({ ...draft, to: v })} />
          <div class="filter-buttons">
            <button class="button primary" type="submit">
              Apply filters
            </button>
            <button
              class="button secondary"
              type="button"
              onClick={() => {
                setDraft(EMPTY);
                setFilters(EMPTY);
                setCursors([]);
              }}
            >
              Clear
            </button>
          </div>
        </form>
      </Card>
      <Card title="Events">
        <div class="table-wrap">
          <table class="audit-table">
            <thead>
              <tr>
                <th scope="col">Timestamp (UTC)</th>
                <th scope="col">User</th>
                <th scope="col">Action</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {events.loading && <SkeletonRows cols={4} rows={5} />}
              {!events.loading && events.data?.data.length === 0 && (
                <tr>
                  <td colSpan={4} class="empty">
                    No events match these filters.
                  </td>
                </tr>
              )}
              {!events.loading &&
                events.data?.data.map((e) => (
                  <tr key={e.id}>
                    <td class="mono small">{timestamp(e.occurred_at)}</td>
                    <td>{e.actor?.name ?? e.actor?.email ?? e.actor?.type}</td>
                    <td>
                      <code>{e.action}</code>
                    </td>
                    <td>{details(e)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
        {events.error ? <FormError error={events.error as ApiError} /> : null}
        <nav class="pager" aria-label="Audit log pages">
          <button class="button secondary small" type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
            Newer
          </button>
          <button class="button secondary small" type="button" disabled={!events.data?.next_cursor} onClick={() => setCursors([...cursors, events.data!.next_cursor!])}>
            Older
          </button>
        </nav>
      </Card>
    </div>
  );
}
