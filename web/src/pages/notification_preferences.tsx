// Account → Notification preferences: how each category of notification reaches this person
// by email, in every workspace (GET / PUT /v1/me/notification-preferences). In-app
// notifications (the bell) are not affected.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, EmailFrequency, get, NotificationCategory, NotificationPreferences, put } from '../api';
import { Card, FormError, SelectField, useAsync } from '../ui';

const LABELS: { id: NotificationCategory; label: string }[] = [
  { id: 'invite_access', label: 'Invite & access' },
  { id: 'security', label: 'Security' },
  { id: 'system', label: 'System' },
];

const OPTIONS: { value: EmailFrequency; label: string }[] = [
  { value: 'immediate', label: 'Immediate' },
  { value: 'daily_digest', label: 'Daily digest' },
  { value: 'off', label: 'Off' },
];

const DEFAULTS: Record<NotificationCategory, EmailFrequency> = { invite_access: 'immediate', security: 'immediate', system: 'immediate' };

export function NotificationPreferencesCard() {
  const prefs = useAsync(() => get<NotificationPreferences>('/v1/me/notification-preferences'), []);
  const [email, setEmail] = useState<Record<NotificationCategory, EmailFrequency>>(DEFAULTS);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState('');
  const [error, setError] = useState<ApiError | string | null>(null);
  useEffect(() => {
    if (prefs.data?.email) setEmail({ ...DEFAULTS, ...prefs.data.email });
  }, [prefs.data]);

  async function save(e: Event) {
    e.preventDefault();
    setBusy(true);
    setDone('');
    setError(null);
    try {
      const out = await put<NotificationPreferences>('/v1/me/notification-preferences', { email });
      if (out?.email) setEmail({ ...DEFAULTS, ...out.email });
      setDone('Notification preferences saved.');
    } catch (err) {
      setError(err instanceof ApiError ? err : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card title="Notification preferences" subtitle="How notifications reach you by email, in every workspace. A daily digest gathers a day's notifications into one email.">
      {prefs.error && !prefs.data ? (
        <FormError error={prefs.error as ApiError} />
      ) : (
        <form class="prefs-form" onSubmit={save} noValidate>
          <div class="prefs-grid">
            {LABELS.map((c) => (
              <SelectField
                key={c.id}
                label={c.label}
                value={email[c.id]}
                disabled={!prefs.data}
                options={OPTIONS}
                onValue={(v) => {
                  setDone('');
                  setEmail({ ...email, [c.id]: v as EmailFrequency });
                }}
              />
            ))}
          </div>
          <FormError error={error} />
          {done && (
            <p class="field-success" role="status">
              {done}
            </p>
          )}
          <div>
            <button class="button primary" type="submit" disabled={busy || !prefs.data}>
              {busy ? 'Saving…' : 'Save preferences'}
            </button>
          </div>
        </form>
      )}
    </Card>
  );
}
