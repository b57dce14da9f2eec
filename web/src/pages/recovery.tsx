// The links Gatehouse mails about an account: "Forgot password?" (/forgot-password), the reset
// link (/reset-password?token=…), the verification link (/verify-email?token=…), and the notice
// that asks a signed-in user to verify their address.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post } from '../api';
import { Link } from '../router';
import { useSession } from '../session';
import { fieldErrors, FormError, TextField } from '../ui';
import { AuthLayout } from './auth';

/** What a refused link means to the person who clicked it. */
function linkProblem(e: unknown, again: { href: string; label: string }) {
  const err = e as ApiError;
  const text =
    err?.code === 'token_expired'
      ? 'This link has expired.'
      : err?.code === 'token_used'
        ? 'This link has been used already.'
        : err?.status === 404
          ? 'This link is not valid. It may have been mistyped, or replaced by a newer one.'
          : err?.detail || 'Something went wrong. Try again.';
  return (
    <>
      <p role="alert" class="form-error">
        {text}
      </p>
      <p>
        <Link href={again.href}>{again.label}</Link>
      </p>
    </>
  );
}

export function ForgotPassword() {
  const [email, setEmail] = useState(new URLSearchParams(location.search).get('email') ?? '');
  const [error, setError] = useState<string | undefined>();
  const [formError, setFormError] = useState<any>(null);
  const [sentTo, setSentTo] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    setFormError(null);
    if (!email.trim()) {
      setError('Enter the email address of your account.');
      return;
    }
    setBusy(true);
    try {
      await post('/v1/auth/password-reset', { email: email.trim() });
      setSentTo(email.trim());
    } catch (err) {
      const f = fieldErrors(err, ['email']);
      setError(f.fields.email);
      setFormError(f.rest);
    } finally {
      setBusy(false);
    }
  }

  if (sentTo) {
    return (
      <AuthLayout title="Check your email">
        <p role="status">
          If an account exists for <strong>{sentTo}</strong>, we sent a link to reset its password. The link expires in 1 hour.
        </p>
        <p class="muted">Nothing there? Look in your spam folder, or check the address and try again.</p>
        <p class="muted center">
          <Link href="/login">Back to log in</Link>
        </p>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Reset your password" subtitle="Enter the email address of your account and we will send you a link to choose a new password.">
      <form onSubmit={submit} noValidate>
        <TextField label="Email" type="email" autoComplete="email" value={email} onValue={setEmail} error={error} required autoFocus />
        <FormError error={formError} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Sending…' : 'Send reset link'}
        </button>
      </form>
      <p class="muted center">
        Remembered it? <Link href="/login">Log in</Link>
      </p>
    </AuthLayout>
  );
}

export function ResetPassword(props: { token: string }) {
  const { me, reload } = useSession();
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [linkError, setLinkError] = useState<unknown>(null);
  const [formError, setFormError] = useState<any>(null);
  const [done, setDone] = useState<{ email: string; revoked_sessions: number } | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (password.length < 12) local.new_password = 'Use at least 12 characters.';
    else if (repeat !== password) local.repeat = 'The passwords do not match.';
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const r = await post('/v1/auth/password-reset/confirm', { token: props.token, new_password: password });
      setDone(r);
      // Every session of the account ended, this browser's too when it was signed in to it.
      if (me) await reload();
    } catch (err: any) {
      if (err?.code === 'token_expired' || err?.code === 'token_used' || err?.status === 404) {
        setLinkError(err);
      } else {
        const f = fieldErrors(err, ['new_password']);
        setErrors(f.fields);
        setFormError(f.rest);
      }
    } finally {
      setBusy(false);
    }
  }

  if (!props.token) {
    return (
      <AuthLayout title="Reset link incomplete">
        <p>The link has no token. Open the link from the email again.</p>
      </AuthLayout>
    );
  }
  if (done) {
    const n = done.revoked_sessions;
    return (
      <AuthLayout title="Password changed">
        <p role="status">
          The password of {done.email} was changed. {n} {n === 1 ? 'session was' : 'sessions were'} signed out.
        </p>
        <Link class="button primary wide" href={`/login?email=${encodeURIComponent(done.email)}`}>
          Log in with the new password
        </Link>
      </AuthLayout>
    );
  }
  if (linkError) {
    return <AuthLayout title="Reset link not valid">{linkProblem(linkError, { href: '/forgot-password', label: 'Ask for a new link' })}</AuthLayout>;
  }
  return (
    <AuthLayout title="Choose a new password" subtitle="Setting it signs out every session of your account.">
      <form onSubmit={submit} noValidate>
        <TextField
          label="New password"
          type="password"
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={errors.new_password}
          hint="At least 12 characters."
          required
          autoFocus
        />
        <TextField label="Repeat new password" type="password" autoComplete="new-password" value={repeat} onValue={setRepeat} error={errors.repeat} required />
        <FormError error={formError} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Set new password'}
        </button>
      </form>
    </AuthLayout>
  );
}

export function VerifyEmail(props: { token: string }) {
  const { me, reload } = useSession();
  const [state, setState] = useState<{ email?: string; error?: unknown } | null>(null);
  useEffect(() => {
    if (!props.token) return;
    let live = true;
    post('/v1/auth/verify-email', { token: props.token }).then(
      async (r) => {
        if (me) await reload();
        if (live) setState({ email: r.email });
      },
      (error) => live && setState({ error }),
    );
    return () => {
      live = false;
    };
  }, [props.token]);

  if (!props.token) {
    return (
      <AuthLayout title="Verification link incomplete">
        <p>The link has no token. Open the link from the email again.</p>
      </AuthLayout>
    );
  }
  if (!state) return <AuthLayout title="Verifying your email…">{null}</AuthLayout>;
  if (state.error) {
    return (
      <AuthLayout title="Email not verified">
        {linkProblem(state.error, me ? { href: '/', label: 'Send a new link from Gatehouse' } : { href: '/login', label: 'Log in to send a new link' })}
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Email verified">
      <p role="status">
        <strong>{state.email}</strong> is verified. You can now accept invitations sent to it.
      </p>
      <Link class="button primary wide" href={me ? '/' : `/login?email=${encodeURIComponent(state.email ?? '')}`}>
        {me ? 'Continue to Gatehouse' : 'Log in'}
      </Link>
    </AuthLayout>
  );
}

/** Shown to a signed-in user whose address is not verified yet, with a button to mail a new link. */
export function VerifyEmailNotice() {
  const { me } = useSession();
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  if (!me || me.email_verified) return null;

  async function resend() {
    setBusy(true);
    setStatus('');
    setError('');
    try {
      await post('/v1/me/verify-email');
      setStatus(`We sent a new link to ${me!.email}.`);
    } catch (err: any) {
      setError(err?.code === 'rate_limited' ? 'Too many emails for now. Try again in an hour.' : err?.detail || 'The email could not be sent.');
    } finally {
      setBusy(false);
    }
  }

  return (
    <section class="verify-notice" aria-label="Verify your email address">
      <p>
        <strong>Verify your email address.</strong> We sent a link to {me.email}. Until you open it, you cannot accept invitations sent to this address.
      </p>
      <div class="verify-notice-actions">
        <button class="button secondary" type="button" onClick={resend} disabled={busy}>
          {busy ? 'Sending…' : 'Resend verification email'}
        </button>
        <span role="status" class="field-success">
          {status}
        </span>
        {error && (
          <span role="alert" class="field-error">
            {error}
          </span>
        )}
      </div>
    </section>
  );
}
