// /accept-invite?token=…: who invites whom to which workspace; creates the account or
// accepts as the signed-in user, then lands in the workspace.
import { useState } from 'preact/hooks';
import { ApiError, get, post, setCsrfToken } from '../api';
import { invalidatePermissions } from '../permissions';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { fieldErrors, FormError, TextField, useAsync } from '../ui';
import { AuthLayout } from './auth';
import { VerifyEmailNotice } from './recovery';

interface InvitationInfo {
  workspace_name: string;
  invited_by: { name: string };
  email: string;
  role: string;
  role_name?: string;
  status: string;
  expires_at: string;
}

const STATUS_TEXT: Record<string, string> = {
  expired: 'This invitation has expired. Ask for a new one.',
  revoked: 'This invitation was revoked.',
  accepted: 'This invitation has already been accepted.',
};

export function AcceptInvite(props: { token: string }) {
  const { me, reload } = useSession();
  const info = useAsync(() => get<InvitationInfo>(`/v1/invitations/${encodeURIComponent(props.token)}`), [props.token]);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);

  async function accept(body: object) {
    setBusy(true);
    setErrors({});
    setFormError(null);
    try {
      const r = await post(`/v1/invitations/${encodeURIComponent(props.token)}/accept`, body);
      if (r.csrf_token) setCsrfToken(r.csrf_token);
      invalidatePermissions(r.workspace_id);
      await reload();
      localStorage.setItem('gh.workspace', r.workspace_id);
      navigate(`/w/${r.workspace_id}/settings/team`, true);
    } catch (err) {
      const f = fieldErrors(err, ['name', 'password']);
      setErrors(f.fields);
      setFormError(f.rest);
    } finally {
      setBusy(false);
    }
  }

  if (!props.token) {
    return (
      <AuthLayout title="Invitation link incomplete">
        <p>The link has no token. Open the link from the invitation email again.</p>
      </AuthLayout>
    );
  }
  if (info.loading) return <AuthLayout title="Loading invitation…">{null}</AuthLayout>;
  if (info.error || !info.data) {
    const e = info.error as ApiError;
    return (
      <AuthLayout title="Invitation not found">
        <p role="alert">{e?.status === 404 ? 'This invitation link is not valid.' : e?.detail ?? 'Something went wrong.'}</p>
        <Link href="/">Go to Gatehouse</Link>
      </AuthLayout>
    );
  }
  const inv = info.data;
  const role = inv.role_name ?? inv.role;
  const header = (
    <p class="invite-summary">
      <strong>{inv.invited_by?.name || 'Someone'}</strong> invited <strong>{inv.email}</strong> to join{' '}
      <strong>{inv.workspace_name}</strong> as {role}.
    </p>
  );
  if (inv.status !== 'pending') {
    return (
      <AuthLayout title={`Join ${inv.workspace_name}`}>
        {header}
        <p role="alert">{STATUS_TEXT[inv.status] ?? `This invitation is ${inv.status}.`}</p>
      </AuthLayout>
    );
  }
  if (me) {
    const same = me.email.toLowerCase() === inv.email.toLowerCase();
    return (
      <AuthLayout title={`Join ${inv.workspace_name}`}>
        {header}
        {same && !me.email_verified ? (
          // The server would refuse (403 email_not_verified): say why and offer a new link.
          <>
            <VerifyEmailNotice />
            <p class="muted">Open the link in that email, then come back to this invitation to accept it.</p>
          </>
        ) : same ? (
          <>
            <FormError error={formError} />
            <button class="button primary wide" disabled={busy} onClick={() => accept({})}>
              {busy ? 'Joining…' : 'Accept invitation'}
            </button>
          </>
        ) : (
          <>
            <p role="alert">
              You are signed in as {me.email}, but this invitation is for {inv.email}. Log out and open the link again.
            </p>
            <button
              class="button secondary wide"
              onClick={async () => {
                await post('/v1/auth/logout').catch(() => undefined);
                await reload();
              }}
            >
              Log out
            </button>
          </>
        )}
      </AuthLayout>
    );
  }
  const here = `/accept-invite?token=${encodeURIComponent(props.token)}`;
  return (
    <AuthLayout title={`Join ${inv.workspace_name}`}>
      {header}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          const local: Record<string, string> = {};
          if (!name.trim()) local.name = 'Enter your name.';
          if (password.length < 12) local.password = 'Use at least 12 characters.';
          setErrors(local);
          if (!Object.keys(local).length) accept({ name: name.trim(), password });
        }}
        noValidate
      >
        <TextField label="Email" value={inv.email} readOnly hint="The invitation is for this address." />
        <TextField label="Full name" autoComplete="name" value={name} onValue={setName} error={errors.name} />
        <TextField label="Password" type="password" autoComplete="new-password" value={password} onValue={setPassword} error={errors.password} hint="At least 12 characters." />
        <FormError error={formError} />
        {formError?.code === 'sign_in_required' && (
          // Someone may have signed up with this address first: a reset link, mailed to it,
          // gives the account to whoever reads the mail.
          <p class="muted">
            Never created one, or forgot the password?{' '}
            <Link href={`/forgot-password?email=${encodeURIComponent(inv.email)}`}>Reset its password</Link>
          </p>
        )}
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Joining…' : 'Create account and join'}
        </button>
      </form>
      <p class="muted center">
        Already have an account? <Link href={`/login?next=${encodeURIComponent(here)}`}>Log in to accept</Link>
      </p>
    </AuthLayout>
  );
}
