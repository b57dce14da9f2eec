// Sign up and log in.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, post, setCsrfToken, ssoUrlOf } from '../api';
import { Link, navigate } from '../router';
import { useSession } from '../session';
import { fieldErrors, FormError, TextField } from '../ui';

export function AuthLayout(props: { title: string; subtitle?: string; children: any }) {
  return (
    <main class="auth-layout">
      <div class="auth-card">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>Gatehouse</span>
        </div>
        <h1>{props.title}</h1>
        {props.subtitle && <p class="muted">{props.subtitle}</p>}
        {props.children}
      </div>
    </main>
  );
}

/** Where to go after signing in: ?next=… when it is a path of ours, else the home page. */
function nextPath(): string {
  const next = new URLSearchParams(location.search).get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function Login() {
  const { reload } = useSession();
  const [email, setEmail] = useState(new URLSearchParams(location.search).get('email') ?? '');
  const [password, setPassword] = useState('');
  const [totp, setTotp] = useState('');
  const [needTotp, setNeedTotp] = useState(false);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);
  // 403 sso_required: the person's workspace wants them to sign in through its IdP.
  const [ssoRequired, setSsoRequired] = useState<{ message: string; url: string } | null>(null);
  const [ssoMode, setSsoMode] = useState(false);
  // The code field takes the focus when it appears.
  useEffect(() => {
    if (needTotp) document.querySelector<HTMLInputElement>('.auth-card input[autocomplete="one-time-code"]')?.focus();
  }, [needTotp]);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    setFormError(null);
    setSsoRequired(null);
    try {
      const body: any = { email, password };
      if (needTotp && totp.trim()) body.totp_code = totp.trim();
      const r = await post('/v1/auth/login', body);
      setCsrfToken(r.csrf_token);
      await reload();
      navigate(nextPath(), true);
    } catch (err: any) {
      const ssoUrl = err instanceof ApiError && err.code === 'sso_required' ? ssoUrlOf(err, nextPath()) : null;
      if (ssoUrl) {
        setSsoRequired({ message: err.detail || 'Your workspace requires single sign-on.', url: ssoUrl });
      } else if (err?.code === 'mfa_required') {
        if (needTotp && totp.trim()) {
          setErrors({ totp_code: 'That code is not valid or was already used. Enter the current code or a recovery code.' });
        } else if (needTotp) {
          setErrors({ totp_code: 'Enter the code from your authenticator app.' });
        } else {
          setNeedTotp(true);
        }
      } else {
        const f = fieldErrors(err, ['email', 'password', 'totp_code']);
        setErrors(f.fields);
        setFormError(f.rest);
      }
    } finally {
      setBusy(false);
    }
  }

  if (ssoMode) return <SsoLogin email={email} onEmail={setEmail} onPassword={() => setSsoMode(false)} />;

  return (
    <AuthLayout title="Log in" subtitle="Welcome back to Gatehouse.">
      {ssoRequired && (
        <div class="sso-required-notice" role="alert">
          <p>
            <strong>Single sign-on required.</strong> {ssoRequired.message}
          </p>
          <button class="button primary wide" type="button" onClick={() => location.assign(ssoRequired.url)}>
            Continue with single sign-on
          </button>
        </div>
      )}
      <form onSubmit={submit} noValidate>
        <TextField label="Email" type="email" autoComplete="email" value={email} onValue={setEmail} error={errors.email} required />
        <TextField label="Password" type="password" autoComplete="current-password" value={password} onValue={setPassword} error={errors.password} required />
        <p class="forgot">
          <Link href={'/forgot-password' + (email.trim() ? '?email=' + encodeURIComponent(email.trim()) : '')}>Forgot password?</Link>
        </p>
        {needTotp && (
          <TextField
            label="Authentication code"
            autoComplete="one-time-code"
            value={totp}
            onValue={setTotp}
            error={errors.totp_code}
            hint="Two-step verification is on: enter the 6-digit code from your authenticator app, or a recovery code."
            required
          />
        )}
        <FormError error={formError} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
      <p class="divider">
        <span>or</span>
      </p>
      <button class="button secondary wide" type="button" onClick={() => setSsoMode(true)}>
        Sign in with SSO
      </button>
      <p class="muted center">
        New to Gatehouse? <Link href={'/signup' + location.search}>Create an account</Link>
      </p>
    </AuthLayout>
  );
}

const EMAIL_SHAPE = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;

/** Single sign-on by work email: the server picks the connection from the domain and sends the
 *  browser to the identity provider, which sends it back signed in. */
function SsoLogin(props: { email: string; onEmail: (v: string) => void; onPassword: () => void }) {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  // Back from the identity provider (page restored from the back-forward cache): usable again.
  useEffect(() => {
    const onShow = () => setBusy(false);
    window.addEventListener('pageshow', onShow);
    return () => window.removeEventListener('pageshow', onShow);
  }, []);
  function submit(e: Event) {
    e.preventDefault();
    const email = props.email.trim();
    if (!EMAIL_SHAPE.test(email)) {
      setError('Enter your work email address, like you@company.com.');
      return;
    }
    setBusy(true);
    location.assign(`/v1/sso/authorize?email=${encodeURIComponent(email)}&redirect_url=${encodeURIComponent(nextPath())}`);
  }
  return (
    <AuthLayout title="Sign in with SSO" subtitle="Your organization's identity provider signs you in.">
      <form onSubmit={submit} noValidate>
        <TextField label="Work email" type="email" autoComplete="email" value={props.email} onValue={(v) => {
            setError(undefined);
            props.onEmail(v);
          }} error={error} hint="We find your organization's sign-in from its domain." required autoFocus />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Redirecting…' : 'Continue with SSO'}
        </button>
      </form>
      <p class="muted center">
        <button class="link-button" type="button" onClick={props.onPassword}>
          Log in with a password instead
        </button>
      </p>
    </AuthLayout>
  );
}

export function Signup() {
  const { reload } = useSession();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const local: Record<string, string> = {};
    if (!name.trim()) local.name = 'Enter your name.';
    if (password.length < 12) local.password = 'Use at least 12 characters.';
    setErrors(local);
    setFormError(null);
    if (Object.keys(local).length) return;
    setBusy(true);
    try {
      const r = await post('/v1/auth/signup', { name: name.trim(), email: email.trim(), password });
      setCsrfToken(r.csrf_token);
      await reload();
      navigate(nextPath(), true);
    } catch (err: any) {
      if (err?.code === 'email_taken') {
        setErrors({ email: 'An account with this email already exists. Log in instead.' });
      } else {
        const f = fieldErrors(err, ['name', 'email', 'password']);
        setErrors(f.fields);
        setFormError(f.rest);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <AuthLayout title="Create your account" subtitle="Teams, roles, API keys and audit in one place.">
      <form onSubmit={submit} noValidate>
        <TextField label="Full name" autoComplete="name" value={name} onValue={setName} error={errors.name} required />
        <TextField label="Email" type="email" autoComplete="email" value={email} onValue={setEmail} error={errors.email} required />
        <TextField
          label="Password"
          type="password"
          autoComplete="new-password"
          value={password}
          onValue={setPassword}
          error={errors.password}
          hint="At least 12 characters."
          required
        />
        <FormError error={formError} />
        <button class="button primary wide" type="submit" disabled={busy}>
          {busy ? 'Creating account…' : 'Sign up'}
        </button>
      </form>
      <p class="muted center">
        Already have an account? <Link href={'/login' + location.search}>Log in</Link>
      </p>
    </AuthLayout>
  );
}
