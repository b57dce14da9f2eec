// Settings → General → IP Allowlisting: the workspace's allowed ranges and the "Block all
// other IPs" switch (GET/PUT /v1/workspaces/{ws}/ip-allowlist). Shown only to those who hold
// ip_allowlist.manage; the server refuses a list that would lock the caller out.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, put, Workspace, wsPath } from '../api';
import { Card, FormError, useAsync } from '../ui';

interface Entry {
  cidr: string;
  label: string;
}

interface Allowlist {
  enabled: boolean;
  entries: Entry[];
  updated_at: string | null;
}

export function IpAllowlistCard(props: { ws: Workspace; reloadWs: () => void }) {
  const path = wsPath(props.ws.id, '/ip-allowlist');
  const loaded = useAsync(() => get<Allowlist>(path), [path]);
  const [entries, setEntries] = useState<Entry[]>([]);
  const [enabled, setEnabled] = useState(false);
  const [cidr, setCidr] = useState('');
  const [label, setLabel] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  const [success, setSuccess] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!loaded.data) return;
    setEntries(loaded.data.entries);
    setEnabled(loaded.data.enabled);
  }, [loaded.data]);

  function add(e: Event) {
    e.preventDefault();
    if (!cidr.trim()) return;
    setEntries([...entries, { cidr: cidr.trim(), label: label.trim() }]);
    setCidr('');
    setLabel('');
    setSuccess('');
  }

  async function save() {
    setBusy(true);
    setError(null);
    setSuccess('');
    try {
      const saved = await put<Allowlist>(path, { enabled, entries });
      setEntries(saved.entries);
      setEnabled(saved.enabled);
      setSuccess('IP allowlist saved.');
      props.reloadWs();
    } catch (err) {
      setError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  if (loaded.error) return null;
  const fieldError = error instanceof ApiError && error.errors[0]?.field ? `${error.errors[0].field}: ` : '';
  return (
    <Card title="IP Allowlisting" subtitle="Only these addresses may use the workspace when other IPs are blocked." label="IP Allowlisting">
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">Range</th>
              <th scope="col">Label</th>
              <th scope="col">
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {entries.length === 0 && (
              <tr>
                <td colSpan={3} class="muted">
                  No ranges yet.
                </td>
              </tr>
            )}
            {entries.map((e, i) => (
              <tr key={e.cidr + i}>
                <td class="mono">{e.cidr}</td>
                <td>{e.label}</td>
                <td>
                  <button
                    class="button secondary small"
                    type="button"
                    aria-label={`Remove ${e.cidr}`}
                    onClick={() => {
                      setEntries(entries.filter((_, j) => j !== i));
                      setSuccess('');
                    }}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <form class="inline-form" onSubmit={add} noValidate>
        <div class="field">
          <label for="ip-cidr">Address or range</label>
          <input id="ip-cidr" class="mono" placeholder="203.0.113.0/24" value={cidr} onInput={(e) => setCidr((e.target as HTMLInputElement).value)} />
        </div>
        <div class="field">
          <label for="ip-label">Label (optional)</label>
          <input id="ip-label" placeholder="Office" maxLength={64} value={label} onInput={(e) => setLabel((e.target as HTMLInputElement).value)} />
        </div>
        <button class="button secondary" type="submit" disabled={!cidr.trim()}>
          Add
        </button>
      </form>
      <label class="checkbox">
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => {
            setEnabled((e.target as HTMLInputElement).checked);
            setSuccess('');
          }}
        />
        Block all other IPs
      </label>
      {error && <FormError error={typeof error === 'string' ? error : `${fieldError}${error.detail || error.code}`} />}
      {success && (
        <p class="field-success" role="status">
          {success}
        </p>
      )}
      <button class="button primary" type="button" disabled={busy || loaded.loading} onClick={save}>
        Save allowlist
      </button>
    </Card>
  );
}
