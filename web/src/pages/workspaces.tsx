// Workspace creation (time zone prefilled from the browser).
import { useState } from 'preact/hooks';
import { post, Workspace } from '../api';
import { invalidatePermissions } from '../permissions';
import { navigate } from '../router';
import { useSession } from '../session';
import { fieldErrors, FormError, SelectField, TextField } from '../ui';
import { AuthLayout } from './auth';
import { VerifyEmailNotice } from './recovery';

export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

/** Every IANA zone the browser knows, with `current` first when it is missing. */
export function timeZones(current?: string): string[] {
  let zones: string[] = [];
  try {
    zones = (Intl as any).supportedValuesOf('timeZone');
  } catch {
    zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Asia/Singapore'];
  }
  if (!zones.includes('UTC')) zones = ['UTC', ...zones];
  if (current && !zones.includes(current)) zones = [current, ...zones];
  return zones;
}

export function CreateWorkspace() {
  const { me, reload } = useSession();
  const [name, setName] = useState('');
  const [timezone, setTimezone] = useState(browserTimeZone());
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  const zones = timeZones(timezone);

  async function submit(e: Event) {
    e.preventDefault();
    if (name.trim().length < 2) {
      setErrors({ name: 'Use at least 2 characters.' });
      return;
    }
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const ws = await post<Workspace>('/v1/workspaces', { name: name.trim(), timezone });
      invalidatePermissions(ws.id);
      await reload();
      localStorage.setItem('gh.workspace', ws.id);
      navigate(`/w/${ws.id}/settings/team`);
    } catch (err) {
      const f = fieldErrors(err, ['name', 'timezone']);
      setErrors(f.fields);
      setFormError(f.rest);
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Create a workspace" subtitle="A workspace holds your team, projects, API keys and audit log.">
      <VerifyEmailNotice />
      <form onSubmit={submit} noValidate>
        <TextField label="Workspace name" value={name} onValue={setName} error={errors.name} placeholder="Acme Corp" autoFocus />
        <SelectField
          label="Timezone"
          value={timezone}
          onValue={setTimezone}
          error={errors.timezone}
          options={zones.map((z) => ({ value: z, label: z }))}
          hint="From your browser. Reports and dates use this zone."
        />
        <FormError error={formError} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Creating…' : 'Create workspace'}
        </button>
      </form>
      {me && me.memberships.length > 0 && (
        <p class="center">
          <button class="link-button" type="button" onClick={() => history.back()}>
            Cancel
          </button>
        </p>
      )}
    </AuthLayout>
  );
}
