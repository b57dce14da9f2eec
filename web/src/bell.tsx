// The bell in the header of every signed-in page: in-app notifications of the current
// workspace, with the unread count (99+ past 99). It looks again every 30 seconds while the tab
// is visible, at once when the tab comes back, and never while it is hidden. A notification with a
// link (a dashboard path) is a link: a click reads it and goes there without reloading the app.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, InAppNotification, NotificationList, post } from './api';
import { navigate } from './router';
import { relativeTime } from './ui';

export const POLL_MS = 30_000;

export function badgeCount(n: number): string {
  return n > 99 ? '99+' : String(n);
}

/** The dashboard path a notification leads to: only a path of this app ("/w/…"), never another
 *  origin ("//host", "https:…"); null otherwise. */
export function linkOf(n: InAppNotification): string | null {
  const link = n.link;
  if (typeof link !== 'string' || !link.startsWith('/') || link.startsWith('//') || link.includes('\\')) return null;
  return link;
}

export function NotificationBell(props: { ws: string }) {
  const [list, setList] = useState<NotificationList | null>(null);
  const [open, setOpen] = useState(false);
  const [error, setError] = useState('');
  const rootRef = useRef<HTMLDivElement>(null);
  const buttonRef = useRef<HTMLButtonElement>(null);
  const panelRef = useRef<HTMLDivElement>(null);
  // Answers to older requests never overwrite newer ones.
  const seq = useRef(0);

  const load = async () => {
    const mine = ++seq.current;
    try {
      const out = await get<NotificationList>(`/v1/me/notifications?workspace=${encodeURIComponent(props.ws)}&limit=20`);
      if (mine === seq.current) {
        setList(out);
        setError('');
      }
    } catch (e) {
      if (mine === seq.current) setError(e instanceof ApiError && e.status !== 404 ? e.detail || e.code : '');
    }
  };

  useEffect(() => {
    setList(null);
    let timer: ReturnType<typeof setInterval> | undefined;
    const start = () => {
      if (timer === undefined) timer = setInterval(load, POLL_MS);
    };
    const stop = () => {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    };
    const onVisibility = () => {
      if (document.visibilityState === 'visible') {
        load();
        start();
      } else stop();
    };
    if (document.visibilityState === 'visible') {
      load();
      start();
    }
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      stop();
      seq.current++;
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [props.ws]);

  // The panel closes on Escape (focus back on the bell) and on a click outside it.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        setOpen(false);
        buttonRef.current?.focus();
      }
    };
    const onDown = (e: MouseEvent) => {
      if (rootRef.current && !rootRef.current.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('keydown', onKey);
    document.addEventListener('mousedown', onDown);
    panelRef.current?.focus();
    return () => {
      document.removeEventListener('keydown', onKey);
      document.removeEventListener('mousedown', onDown);
    };
  }, [open]);

  const unread = list?.unread_count ?? 0;
  const items = list?.data ?? [];

  async function markRead(n: InAppNotification) {
    if (n.read_at) return;
    const now = new Date().toISOString();
    setList((l) => l && { ...l, unread_count: Math.max(0, l.unread_count - 1), data: l.data.map((x) => (x.id === n.id ? { ...x, read_at: now } : x)) });
    try {
      await post(`/v1/me/notifications/${encodeURIComponent(n.id)}/read`);
    } catch (e) {
      setError(e instanceof ApiError ? e.detail || e.code : String(e));
    }
    load();
  }

  async function markAll() {
    const now = new Date().toISOString();
    setList((l) => l && { ...l, unread_count: 0, data: l.data.map((x) => ({ ...x, read_at: x.read_at ?? now })) });
    try {
      await post('/v1/me/notifications/read-all', { workspace_id: props.ws });
    } catch (e) {
      setError(e instanceof ApiError ? e.detail || e.code : String(e));
    }
    load();
  }

  function follow(e: MouseEvent, n: InAppNotification, link: string) {
    markRead(n);
    // A new tab or window (modifier keys, middle button) keeps this page and its panel.
    if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || e.button !== 0) return;
    e.preventDefault();
    setOpen(false);
    if (location.pathname + location.search !== link) navigate(link);
    document.getElementById('main')?.focus();
  }

  const label = unread ? `Notifications, ${unread} unread` : 'Notifications';
  return (
    <div class="bell" ref={rootRef}>
      <button
        type="button"
        class="bell-button"
        ref={buttonRef}
        aria-label={label}
        aria-expanded={open}
        aria-controls="notification-panel"
        onClick={() => {
          if (!open) load();
          setOpen(!open);
        }}
      >
        <svg viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
          <path
            fill="currentColor"
            d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z"
          />
        </svg>
        {unread > 0 && (
          <span class="bell-count" aria-hidden="true">
            {badgeCount(unread)}
          </span>
        )}
      </button>
      {open && (
        <div class="bell-panel" id="notification-panel" role="region" aria-label="Notifications" tabIndex={-1} ref={panelRef}>
          <header class="bell-header">
            <h2>Notifications</h2>
            <button class="link-button small" type="button" disabled={unread === 0} onClick={markAll}>
              Mark all as read
            </button>
          </header>
          {error && (
            <p class="form-error" role="alert">
              {error}
            </p>
          )}
          {list === null ? (
            <p class="muted bell-empty">Loading…</p>
          ) : items.length === 0 ? (
            <p class="muted bell-empty">You're all caught up.</p>
          ) : (
            <ul class="bell-list">
              {items.map((n) => {
                const link = linkOf(n);
                const content = (
                  <>
                    <span class="bell-title">
                      {!n.read_at && <span class="visually-hidden">Unread: </span>}
                      {n.title}
                    </span>
                    {n.body && <span class="bell-body">{n.body}</span>}
                    <time class="bell-time" dateTime={n.created_at}>
                      {relativeTime(n.created_at)}
                    </time>
                  </>
                );
                return (
                  <li key={n.id} class={n.read_at ? 'read' : 'unread'}>
                    {link ? (
                      <a class="bell-item" href={link} onClick={(e) => follow(e, n, link)} onAuxClick={(e) => e.button === 1 && markRead(n)}>
                        {content}
                      </a>
                    ) : (
                      <button type="button" class="bell-item" onClick={() => markRead(n)}>
                        {content}
                      </button>
                    )}
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
      <span class="visually-hidden" role="status" aria-live="polite">
        {unread ? `${unread} unread notifications` : ''}
      </span>
    </div>
  );
}
