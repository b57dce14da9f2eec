// Settings → General: workspace name, logo, region, appearance, language and time zone, the
// publishable key card, and the Danger Zone.
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, ApiKey, del, get, Page, patch, Workspace, wsPath } from '../api';
import { PermissionGuard, usePermissions } from '../permissions';
import { navigate } from '../router';
import { useSession } from '../session';
import { applyTheme, Theme } from '../theme';
import { Avatar, Card, CopyButton, Dialog, FormError, SelectField, TextField, useAsync } from '../ui';
import { IpAllowlistCard } from './ip_allowlist';
import { timeZones } from './workspaces';

const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/webp'];
const LOGO_MAX = 2 * 1024 * 1024;

export function General(props: { ws: Workspace; reloadWs: () => void }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const canEdit = perms.can('workspace.edit');
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>General</h1>
          <p class="muted">Workspace identity, appearance and regional settings.</p>
        </div>
      </header>
      <WorkspaceCard ws={ws} canEdit={canEdit} reloadWs={props.reloadWs} />
      <AppearanceCard />
      <LanguageCard ws={ws} canEdit={canEdit} reloadWs={props.reloadWs} />
      {canEdit && <SecurityCard ws={ws} reloadWs={props.reloadWs} />}
      {canEdit && ['active', 'trialing'].includes(ws.subscription_status) && perms.can('api_keys.view_all') && <PublishableKeyCard ws={ws} />}
      <PermissionGuard ws={ws.id} permission="ip_allowlist.manage">
        <IpAllowlistCard ws={ws} reloadWs={props.reloadWs} />
      </PermissionGuard>
      <PermissionGuard ws={ws.id} permission="workspace.delete">
        <DangerZone ws={ws} />
      </PermissionGuard>
    </div>
  );
}

function WorkspaceCard(props: { ws: Workspace; canEdit: boolean; reloadWs: () => void }) {
  const { ws, canEdit } = props;
  const { reload } = useSession();
  const [name, setName] = useState(ws.name);
  const [saved, setSaved] = useState(ws.name);
  const [error, setError] = useState<string | undefined>();
  const [success, setSuccess] = useState('');
  const [busy, setBusy] = useState(false);
  const changed = name.trim() !== saved;

  async function save(e: Event) {
    e.preventDefault();
    if (name.trim().length < 2) {
      setError('The workspace name needs at least 2 characters.');
      return;
    }
    setBusy(true);
    setError(undefined);
    setSuccess('');
    try {
      const w = await patch<Workspace>(wsPath(ws.id), { name: name.trim() });
      setSaved(w.name);
      setName(w.name);
      setSuccess('Workspace name updated successfully');
      props.reloadWs();
      reload();
    } catch (err) {
      setError(err instanceof ApiError ? err.forField('name') ?? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Workspace">
      <form onSubmit={save} noValidate class="inline-form">
        <TextField
          label="Workspace Name"
          value={name}
          readOnly={!canEdit}
          onValue={(v) => {
            setName(v);
            setSuccess('');
            setError(undefined);
          }}
          error={error}
          success={success}
        />
        {canEdit && (
          <button class="button primary" type="submit" disabled={!changed || busy}>
            Save
          </button>
        )}
      </form>
      <LogoField ws={ws} canEdit={canEdit} reloadWs={props.reloadWs} />
      <TextField label="Database Region" value={ws.region} readOnly hint="Set at workspace creation." />
    </Card>
  );
}

function LogoField(props: { ws: Workspace; canEdit: boolean; reloadWs: () => void }) {
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [success, setSuccess] = useState('');
  const [busy, setBusy] = useState(false);
  const shown = preview ?? props.ws.logo_url;

  function choose(f: File | undefined) {
    setError(undefined);
    setSuccess('');
    if (!f) return;
    if (!LOGO_TYPES.includes(f.type)) {
      setError('Choose a PNG, JPG or WebP image.');
      return;
    }
    if (f.size > LOGO_MAX) {
      setError('The image is larger than 2 MB.');
      return;
    }
    setFile(f);
    const reader = new FileReader();
    reader.onload = () => setPreview(reader.result as string);
    reader.readAsDataURL(f);
  }

  async function upload() {
    if (!file) return;
    setBusy(true);
    try {
      const form = new FormData();
      form.append('file', file);
      await api(`POST`, wsPath(props.ws.id, '/logo'), { raw: form });
      setSuccess('Logo uploaded.');
      setFile(null);
      props.reloadWs();
    } catch (err) {
      setError(err instanceof ApiError ? err.forField('file') ?? err.detail : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div class="field">
      <span class="label" id="logo-label">
        Logo
      </span>
      <div class="logo-row">
        {shown ? <img class="logo-preview" src={shown} alt="Workspace logo preview" width={64} height={64} /> : <Avatar name={props.ws.name} size={64} label="Workspace logo: initials" />}
        {props.canEdit && (
          <div class="logo-actions">
            <label class="button secondary file-button">
              Choose Image
              <input type="file" accept="image/png,image/jpeg,image/webp" class="visually-hidden" aria-describedby="logo-msg" onChange={(e) => choose((e.target as HTMLInputElement).files?.[0])} />
            </label>
            <button class="button primary" type="button" disabled={!file || busy} onClick={upload}>
              Upload
            </button>
          </div>
        )}
      </div>
      {props.canEdit && (
        <p id="logo-msg" class={error ? 'field-error' : success ? 'field-success' : 'field-hint'} role={error ? 'alert' : undefined}>
          {error ?? (success || 'PNG, JPG or WebP, up to 2 MB. Square images look best.')}
        </p>
      )}
    </div>
  );
}

function AppearanceCard() {
  const { me, reload } = useSession();
  const [theme, setTheme] = useState<Theme>(me?.theme ?? 'system');
  const [error, setError] = useState<any>(null);
  const choose = async (t: Theme) => {
    setTheme(t);
    applyTheme(t);
    try {
      await patch('/v1/me', { theme: t });
      reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title="Appearance" subtitle="Your personal theme; other members keep theirs.">
      <fieldset class="segmented">
        <legend class="visually-hidden">Theme</legend>
        {(['light', 'dark', 'system'] as Theme[]).map((t) => (
          <label key={t} class={theme === t ? 'selected' : ''}>
            <input type="radio" name="theme" value={t} checked={theme === t} onChange={() => choose(t)} />
            {t[0].toUpperCase() + t.slice(1)}
          </label>
        ))}
      </fieldset>
      <FormError error={error} />
    </Card>
  );
}

function SecurityCard(props: { ws: Workspace; reloadWs: () => void }) {
  const { me } = useSession();
  const [on, setOn] = useState(!!props.ws.require_mfa);
  const [error, setError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  // Follow the workspace as reloaded, but not while our own change is on its way.
  useEffect(() => {
    if (!busy) setOn(!!props.ws.require_mfa);
  }, [props.ws.require_mfa]);
  // Turning it on needs two-factor authentication on the caller's own account first.
  const blocked = !on && !me?.mfa_enabled;
  return (
    <Card title="Security">
      <label class="checkbox">
        <input
          type="checkbox"
          role="switch"
          checked={on}
          disabled={busy || blocked}
          aria-describedby="require-mfa-hint"
          onChange={async (e) => {
            const want = (e.target as HTMLInputElement).checked;
            setOn(want);
            setBusy(true);
            setError(null);
            try {
              const w = await patch<Workspace>(wsPath(props.ws.id), { require_mfa: want });
              setOn(!!w.require_mfa);
              props.reloadWs();
            } catch (err) {
              setOn(!want);
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        />
        Require two-factor authentication
      </label>
      <p class="muted small" id="require-mfa-hint">
        {blocked
          ? 'Turn on two-step verification for your own account (Account page) before requiring it here.'
          : 'Members without two-step verification cannot act in this workspace until they turn it on.'}
      </p>
      <FormError error={error} />
    </Card>
  );
}

function LanguageCard(props: { ws: Workspace; canEdit: boolean; reloadWs: () => void }) {
  const { ws, canEdit } = props;
  const [tz, setTz] = useState(ws.timezone);
  const [savedTz, setSavedTz] = useState(ws.timezone);
  const [language, setLanguage] = useState(ws.language || 'en');
  const [error, setError] = useState<string | undefined>();
  const [success, setSuccess] = useState('');
  useEffect(() => setSuccess(''), [tz]);
  const changed = tz !== savedTz || language !== (ws.language || 'en');
  return (
    <Card title="Language & Region">
      <SelectField label="Language" value={language} onValue={setLanguage} disabled={!canEdit} options={[{ value: 'en', label: 'English' }]} />
      {canEdit ? (
        <SelectField label="Timezone" value={tz} onValue={setTz} error={error} hint={success || 'Reports and event timestamps use this zone.'} options={timeZones(tz).map((z) => ({ value: z, label: z }))} />
      ) : (
        <TextField label="Timezone" value={tz} readOnly />
      )}
      {canEdit && (
        <button
          class="button primary"
          type="button"
          disabled={!changed}
          onClick={async () => {
            setError(undefined);
            try {
              const w = await patch<Workspace>(wsPath(ws.id), { timezone: tz, language });
              setSavedTz(w.timezone);
              setSuccess('Timezone updated successfully');
              props.reloadWs();
            } catch (err) {
              setError(err instanceof ApiError ? err.forField('timezone') ?? err.detail : String(err));
            }
          }}
        >
          Save
        </button>
      )}
    </Card>
  );
}

function PublishableKeyCard(props: { ws: Workspace }) {
  const keys = useAsync(() => get<Page<ApiKey>>(wsPath(props.ws.id, '/api-keys?limit=200')), [props.ws.id]);
  const pk = keys.data?.data.find((k) => k.type === 'publishable' && !k.revoked_at && k.key);
  if (!pk) return null;
  return (
    <Card title="API Keys" subtitle="Publishable API Key">
      <div class="field">
        <label for="pk">Publishable key (safe in browser code: it can only send events)</label>
        <div class="copy-row">
          <input id="pk" class="mono" readOnly value={pk.key} />
          <CopyButton text={pk.key!} label="Copy publishable key" />
        </div>
      </div>
    </Card>
  );
}

function DangerZone(props: { ws: Workspace }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<any>(null);
  const { reload } = useSession();
  return (
    <Card title="Danger Zone" class="danger-card">
      <div class="danger-row">
        <div>
          <strong>Delete Workspace</strong>
          <p class="muted">Deletes {props.ws.name} with its members, projects, keys and audit log. This cannot be undone.</p>
        </div>
        <button class="button danger" type="button" onClick={() => setOpen(true)}>
          Delete Workspace
        </button>
      </div>
      {open && (
        <Dialog title="Delete workspace?" onClose={() => setOpen(false)} description={`Type DELETE to confirm that ${props.ws.name} and everything in it should be deleted.`}>
          <form
            onSubmit={async (e) => {
              e.preventDefault();
              try {
                await del(wsPath(props.ws.id), { confirm: typed });
                localStorage.removeItem('gh.workspace');
                await reload();
                navigate('/', true);
              } catch (err) {
                setError(err);
              }
            }}
          >
            <TextField label="Type DELETE to confirm" value={typed} onValue={setTyped} autoComplete="off" error={error instanceof ApiError ? error.forField('confirm') : undefined} />
            <FormError error={error instanceof ApiError && error.forField('confirm') ? null : error} />
            <div class="dialog-actions">
              <button class="button secondary" type="button" onClick={() => setOpen(false)}>
                Cancel
              </button>
              <button class="button danger" type="submit" disabled={typed !== 'DELETE'}>
                Delete workspace
              </button>
            </div>
          </form>
        </Dialog>
      )}
    </Card>
  );
}
