// Small accessible building blocks: labelled fields with their errors, dialogs that trap
// focus and close on Escape, cards, badges, avatars.
import { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError } from './api';

export function Field(props: {
  label: string;
  error?: string;
  hint?: ComponentChildren;
  success?: string;
  children: (id: string, describedBy: string | undefined) => ComponentChildren;
}) {
  const id = useId();
  const msgId = id + '-msg';
  const hasMsg = !!(props.error || props.success || props.hint);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      {props.children(id, hasMsg ? msgId : undefined)}
      {props.error ? (
        <p class="field-error" id={msgId} role="alert">
          {props.error}
        </p>
      ) : props.success ? (
        <p class="field-success" id={msgId} role="status">
          {props.success}
        </p>
      ) : props.hint ? (
        <p class="field-hint" id={msgId}>
          {props.hint}
        </p>
      ) : null}
    </div>
  );
}

interface InputProps {
  label: string;
  type?: string;
  placeholder?: string;
  autoComplete?: string;
  readOnly?: boolean;
  required?: boolean;
  autoFocus?: boolean;
  inputMode?: 'numeric' | 'text' | 'email';
  error?: string;
  hint?: ComponentChildren;
  success?: string;
  value: string;
  onValue?: (v: string) => void;
}

export function TextField({ label, error, hint, success, value, onValue, ...rest }: InputProps) {
  return (
    <Field label={label} error={error} hint={hint} success={success}>
      {(id, describedBy) => (
        <input
          id={id}
          value={value}
          aria-invalid={error ? 'true' : undefined}
          aria-describedby={describedBy}
          onInput={(e) => onValue?.((e.target as HTMLInputElement).value)}
          {...rest}
        />
      )}
    </Field>
  );
}

export function SelectField(props: {
  label: string;
  value: string;
  onValue?: (v: string) => void;
  options: { value: string; label: string }[];
  disabled?: boolean;
  error?: string;
  hint?: ComponentChildren;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(id, describedBy) => (
        <select
          id={id}
          value={props.value}
          disabled={props.disabled}
          aria-describedby={describedBy}
          onChange={(e) => props.onValue?.((e.target as HTMLSelectElement).value)}
        >
          {props.options.map((o) => (
            <option value={o.value} key={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Card(props: { title?: string; subtitle?: string; actions?: ComponentChildren; children: ComponentChildren; class?: string; label?: string }) {
  const id = useId();
  return (
    <section class={'card ' + (props.class ?? '')} aria-labelledby={props.title ? id : undefined} aria-label={props.title ? undefined : props.label}>
      {(props.title || props.actions) && (
        <header class="card-header">
          <div>
            {props.title && <h2 id={id}>{props.title}</h2>}
            {props.subtitle && <p class="muted">{props.subtitle}</p>}
          </div>
          {props.actions && <div class="card-actions">{props.actions}</div>}
        </header>
      )}
      {props.children}
    </section>
  );
}

export function Badge(props: { tone?: 'green' | 'yellow' | 'red' | 'gray' | 'blue'; children: ComponentChildren }) {
  return <span class={'badge badge-' + (props.tone ?? 'gray')}>{props.children}</span>;
}

/** Two letters from a name: "Acme Corp" -> "AC", "gatehouse" -> "GA". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length >= 2) return (words[0][0] + words[1][0]).toUpperCase();
  return (words[0] ?? '?').slice(0, 2).toUpperCase();
}

export function Avatar(props: { name: string; src?: string | null; size?: number; round?: boolean; label?: string }) {
  const size = props.size ?? 32;
  const cls = 'avatar' + (props.round ? ' round' : '') + (size >= 64 ? ' avatar-lg' : size <= 28 ? ' avatar-sm' : '');
  if (props.src) return <img class={cls} src={props.src} alt={props.label ?? ''} width={size} height={size} />;
  return (
    <span class={cls} role={props.label ? 'img' : undefined} aria-label={props.label} aria-hidden={props.label ? undefined : 'true'}>
      {initials(props.name)}
    </span>
  );
}

const FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

/** A modal dialog: focus moves in, Tab cycles inside, Escape closes, focus returns. */
export function Dialog(props: { title: string; onClose: () => void; children: ComponentChildren; description?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    const el = ref.current!;
    // The field marked autofocus first, wherever it is; else the first field; else any control.
    const first =
      el.querySelector<HTMLElement>('[autofocus]') ??
      el.querySelector<HTMLElement>('input, select, textarea') ??
      el.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? el).focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        props.onClose();
        return;
      }
      if (e.key !== 'Tab') return;
      const items = Array.from(el.querySelectorAll<HTMLElement>(FOCUSABLE)).filter((n) => n.offsetParent !== null);
      if (items.length === 0) return;
      const firstItem = items[0];
      const last = items[items.length - 1];
      if (e.shiftKey && document.activeElement === firstItem) {
        e.preventDefault();
        last.focus();
      } else if (!e.shiftKey && document.activeElement === last) {
        e.preventDefault();
        firstItem.focus();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      opener?.focus?.();
    };
  }, []);
  return (
    <div class="overlay" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby={titleId} ref={ref} tabIndex={-1}>
        <header class="dialog-header">
          <h2 id={titleId}>{props.title}</h2>
          <button type="button" class="icon-button" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </header>
        {props.description && <p class="muted">{props.description}</p>}
        {props.children}
      </div>
    </div>
  );
}

/** A form-level error for problems that name no field. */
export function FormError(props: { error: ApiError | string | null | undefined }) {
  if (!props.error) return null;
  const msg = typeof props.error === 'string' ? props.error : props.error.detail || props.error.code;
  return (
    <p class="form-error" role="alert">
      {msg}
    </p>
  );
}

/** Splits an API error into per-field messages and the rest. */
export function fieldErrors(e: unknown, fields: string[]): { fields: Record<string, string>; rest: ApiError | string | null } {
  if (!(e instanceof ApiError)) return { fields: {}, rest: e ? String(e) : null };
  const out: Record<string, string> = {};
  for (const f of fields) {
    const m = e.forField(f);
    if (m) out[f] = m;
  }
  return { fields: out, rest: Object.keys(out).length ? null : e };
}

/** Loads data for a screen; `reload` fetches again. */
export function useAsync<T>(fn: () => Promise<T>, deps: unknown[]): { data: T | undefined; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, loading: false }),
      (error) => live && setState({ error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  return { data: state.data, error: state.error, loading: state.loading, reload: () => setTick((t) => t + 1) };
}

export function relativeTime(iso: string | null | undefined): string {
  if (!iso) return 'Never';
  const then = Date.parse(iso);
  const s = Math.round((Date.now() - then) / 1000);
  if (s < 60) return 'just now';
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.round(m / 60);
  if (h < 24) return `${h} hour${h === 1 ? '' : 's'} ago`;
  const d = Math.round(h / 24);
  if (d < 14) return `${d} day${d === 1 ? '' : 's'} ago`;
  return new Date(then).toLocaleDateString();
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

export function CopyButton(props: { text: string; label?: string }) {
  const [done, setDone] = useState<'' | 'ok' | 'fail'>('');
  return (
    <button
      type="button"
      class="button secondary"
      onClick={async () => setDone((await copyText(props.text)) ? 'ok' : 'fail')}
      aria-label={props.label ?? 'Copy'}
    >
      {done === 'ok' ? 'Copied' : done === 'fail' ? 'Select and copy' : 'Copy'}
    </button>
  );
}

/** A read-only value to hand to another system, with its Copy button. */
export function CopyField(props: { id: string; label: string; value: string; hint?: ComponentChildren }) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <div class="copy-row">
        <input id={props.id} class="mono" readOnly value={props.value} aria-describedby={props.hint ? props.id + '-hint' : undefined} onFocus={(e) => (e.target as HTMLInputElement).select()} />
        <CopyButton text={props.value} label={`Copy ${props.label}`} />
      </div>
      {props.hint && (
        <p class="field-hint" id={props.id + '-hint'}>
          {props.hint}
        </p>
      )}
    </div>
  );
}
