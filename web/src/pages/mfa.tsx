// Two-step verification (TOTP) in Settings → Account: enable with a QR code or the secret and a
// first code, the recovery codes shown once, and disable with a code.
import { useState } from 'preact/hooks';
import { ApiError, del, post } from '../api';
import { useSession } from '../session';
import { Badge, CopyButton, Dialog, FormError, TextField } from '../ui';

interface Enrolment {
  secret: string;
  otpauth_uri: string;
  qr_svg: string;
}

/** The SVG as a data: URI for an <img>: the markup is never put into the page itself. */
export function svgDataUri(svg: string): string {
  const bytes = new TextEncoder().encode(svg);
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return 'data:image/svg+xml;base64,' + btoa(bin);
}

/** "ABCD EFGH …": the secret in groups of four, easier to type. */
const grouped = (secret: string) => secret.replace(/(.{4})(?=.)/g, '$1 ');

function codeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.code === 'invalid_code') return 'That code is not valid. Check the time on your device and enter the current code.';
    return err.forField('code') ?? err.detail ?? err.code;
  }
  return String(err);
}

/** The "Two-step verification" row of the Security Overview, with its badge and action. */
export function TwoStepRow() {
  const { me, reload } = useSession();
  const [enrolment, setEnrolment] = useState<Enrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [disabling, setDisabling] = useState(false);
  const [starting, setStarting] = useState(false);
  const [error, setError] = useState<any>(null);
  const [notice, setNotice] = useState('');
  if (!me) return null;

  async function start() {
    // Not disabled while it starts: a disabled button would lose the focus the dialog gives back.
    if (starting) return;
    setError(null);
    setNotice('');
    setStarting(true);
    try {
      setEnrolment(await post<Enrolment>('/v1/me/mfa/totp'));
    } catch (e) {
      setError(e);
    } finally {
      setStarting(false);
    }
  }

  return (
    <div class="security-block">
      <div class="security-row">
        <div>
          <strong>Two-step verification</strong>
          <p class="muted">Add an extra layer of security to your account.</p>
        </div>
        <div class="security-actions">
          {me.mfa_enabled ? <Badge tone="green">Enabled</Badge> : <Badge tone="yellow">Not Enabled</Badge>}
          {me.mfa_enabled ? (
            <button class="button danger-outline small" type="button" onClick={() => (setNotice(''), setDisabling(true))}>
              Disable
            </button>
          ) : (
            <button class="button secondary small" type="button" aria-busy={starting ? 'true' : undefined} onClick={start}>
              {starting ? 'Starting…' : 'Enable'}
            </button>
          )}
        </div>
      </div>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <FormError error={error} />
      {enrolment && (
        <EnableDialog
          enrolment={enrolment}
          onClose={() => setEnrolment(null)}
          onEnabled={async (recovery) => {
            setEnrolment(null);
            setCodes(recovery);
            await reload();
          }}
        />
      )}
      {codes && (
        <RecoveryCodesDialog
          codes={codes}
          onClose={() => {
            setCodes(null);
            setNotice('Two-step verification is on.');
          }}
        />
      )}
      {disabling && (
        <DisableDialog
          onClose={() => setDisabling(false)}
          onDisabled={async () => {
            setDisabling(false);
            await reload();
            setNotice('Two-step verification is off.');
          }}
        />
      )}
    </div>
  );
}

function EnableDialog(props: { enrolment: Enrolment; onClose: () => void; onEnabled: (codes: string[]) => void }) {
  const [code, setCode] = useState('');
  const [err, setErr] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const { secret, qr_svg } = props.enrolment;

  async function submit(e: Event) {
    e.preventDefault();
    const c = code.replace(/\s+/g, '');
    if (!/^\d{6}$/.test(c)) {
      setErr('Enter the 6-digit code from your authenticator app.');
      return;
    }
    setErr(undefined);
    setBusy(true);
    try {
      const r = await post<{ mfa_enabled: boolean; recovery_codes: string[] }>('/v1/me/mfa/totp/verify', { code: c });
      props.onEnabled(r.recovery_codes ?? []);
    } catch (e2) {
      setErr(codeError(e2));
      setBusy(false);
    }
  }

  return (
    <Dialog title="Enable two-step verification" onClose={props.onClose}>
      <form onSubmit={submit} noValidate>
        <ol class="steps">
          <li>Scan this QR code with an authenticator app (Google Authenticator, 1Password, Authy…).</li>
        </ol>
        <div class="qr">
          <img src={svgDataUri(qr_svg)} alt="QR code to scan with your authenticator app" width={180} height={180} />
        </div>
        <div class="field">
          <label for="mfa-secret">Or enter this key in the app</label>
          <div class="copy-row">
            <input id="mfa-secret" class="mono" readOnly value={grouped(secret)} onFocus={(e) => (e.target as HTMLInputElement).select()} />
            <CopyButton text={secret} label="Copy setup key" />
          </div>
        </div>
        <ol class="steps" start={2}>
          <li>Enter the 6-digit code the app shows.</li>
        </ol>
        <TextField
          label="Verification code"
          inputMode="numeric"
          autoComplete="one-time-code"
          placeholder="123456"
          autoFocus
          value={code}
          onValue={setCode}
          error={err}
          required
        />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit" disabled={busy}>
            {busy ? 'Verifying…' : 'Verify and enable'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function RecoveryCodesDialog(props: { codes: string[]; onClose: () => void }) {
  const text = props.codes.join('\n') + '\n';
  const href = 'data:text/plain;charset=utf-8,' + encodeURIComponent(text);
  return (
    <Dialog title="Save your recovery codes" onClose={props.onClose}>
      <p class="warning" role="alert">
        Save these codes somewhere safe now. They will not be shown again. Each one works once, to sign in or to turn two-step
        verification off if you lose your device.
      </p>
      <ol class="recovery-codes mono" aria-label="Recovery codes">
        {props.codes.map((c) => (
          <li key={c}>{c}</li>
        ))}
      </ol>
      <div class="dialog-actions">
        <CopyButton text={text} label="Copy recovery codes" />
        <a class="button secondary" href={href} download="gatehouse-recovery-codes.txt">
          Download
        </a>
        <button class="button primary" type="button" onClick={props.onClose}>
          I have saved them
        </button>
      </div>
    </Dialog>
  );
}

function DisableDialog(props: { onClose: () => void; onDisabled: () => void }) {
  const [code, setCode] = useState('');
  const [err, setErr] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    const c = code.trim();
    if (!c) {
      setErr('Enter a code from your authenticator app or a recovery code.');
      return;
    }
    setErr(undefined);
    setBusy(true);
    try {
      await del('/v1/me/mfa/totp', { code: c });
      props.onDisabled();
    } catch (e2) {
      setErr(e2 instanceof ApiError && e2.code === 'invalid_code' ? 'That code is not valid or was already used.' : codeError(e2));
      setBusy(false);
    }
  }

  return (
    <Dialog
      title="Disable two-step verification?"
      description="Signing in will then need only your password. Enter a current code from your authenticator app, or a recovery code."
      onClose={props.onClose}
    >
      <form onSubmit={submit} noValidate>
        <TextField label="Authentication code" autoComplete="one-time-code" autoFocus value={code} onValue={setCode} error={err} required />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button danger" type="submit" disabled={busy}>
            {busy ? 'Disabling…' : 'Disable two-step verification'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
