// The signed-in layout: workspace switcher and the settings navigation (vertical on desktop,
// a horizontal scrolling bar under 768 px), the workspace context banner, and the screen.
import { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError, get, post, ssoUrlOf, Workspace, wsPath } from './api';
import { NotificationBell } from './bell';
import { usePermissions } from './permissions';
import { Link, navigate } from './router';
import { VerifyEmailNotice } from './pages/recovery';
import { useSession } from './session';
import { Avatar, Badge, useAsync } from './ui';

export interface Section {
  id: string;
  label: string;
  href: (ws: string) => string;
  /** Shown when the caller holds any of these (none: always). */
  anyOf?: string[];
  personal?: boolean;
}

export const SECTIONS: Section[] = [
  { id: 'general', label: 'General', href: (ws) => `/w/${ws}/settings/general` },
  { id: 'billing', label: 'Usage & Billing', href: (ws) => `/w/${ws}/settings/billing` },
  { id: 'team', label: 'Team Members', href: (ws) => `/w/${ws}/settings/team` },
  { id: 'projects', label: 'Projects', href: (ws) => `/w/${ws}/projects` },
  { id: 'api-keys', label: 'API Keys', href: (ws) => `/w/${ws}/api-keys`, anyOf: ['api_keys.create', 'api_keys.view_own', 'api_keys.view_all'] },
  { id: 'audit-log', label: 'Audit Log', href: (ws) => `/w/${ws}/audit-log`, anyOf: ['audit_log.view'] },
  { id: 'sso', label: 'Single Sign-On', href: (ws) => `/w/${ws}/settings/sso`, anyOf: ['sso.configure'] },
  { id: 'directory', label: 'Directory Sync', href: (ws) => `/w/${ws}/settings/directory`, anyOf: ['directory.configure'] },
  { id: 'webhooks', label: 'Webhooks', href: (ws) => `/w/${ws}/settings/webhooks`, anyOf: ['webhooks.manage'] },
  { id: 'notifications', label: 'Notifications', href: (ws) => `/w/${ws}/settings/notifications`, anyOf: ['notifications.manage'] },
  { id: 'account', label: 'Account', href: (ws) => `/w/${ws}/settings/account`, personal: true },
];

export function Shell(props: { ws: string; section: string; children: (w: Workspace, reloadWs: () => void) => ComponentChildren }) {
  const { me, reload } = useSession();
  const perms = usePermissions(props.ws);
  const ws = useAsync(() => get<Workspace>(wsPath(props.ws)), [props.ws]);
  const visible = SECTIONS.filter((s) => !s.anyOf || s.anyOf.some((p) => perms.can(p)));
  const workspaceSections = visible.filter((s) => !s.personal);
  const personalSections = visible.filter((s) => s.personal);
  // On a phone the navigation is a horizontal strip: bring the current section into view.
  const navRef = useRef<HTMLElement>(null);
  useEffect(() => {
    const el = navRef.current;
    const current = el?.querySelector<HTMLElement>('[aria-current=page]');
    if (el && current && el.scrollWidth > el.clientWidth) {
      const navLeft = el.getBoundingClientRect().left;
      const linkLeft = current.getBoundingClientRect().left - navLeft + el.scrollLeft;
      el.scrollLeft = linkLeft - (el.clientWidth - current.offsetWidth) / 2;
    }
  }, [props.section, perms.loading]);
  const nav = (s: Section) => (
    <li key={s.id}>
      <Link href={s.href(props.ws)} class="nav-link" aria-current={s.id === props.section ? 'page' : undefined}>
        {s.label}
      </Link>
    </li>
  );

  return (
    <div class="shell">
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <aside class="sidebar">
        <div class="switcher">
          <label for="ws-switcher">Workspace</label>
          <select
            id="ws-switcher"
            value={props.ws}
            onChange={(e) => {
              const v = (e.target as HTMLSelectElement).value;
              if (v === '__new') navigate('/workspaces/new');
              else {
                localStorage.setItem('gh.workspace', v);
                navigate(`/w/${v}/settings/${props.section === 'account' ? 'account' : 'general'}`);
              }
            }}
          >
            {me?.memberships.map((m) => (
              <option value={m.workspace_id} key={m.workspace_id}>
                {m.workspace_name}
              </option>
            ))}
            <option value="__new">+ Create workspace…</option>
          </select>
        </div>
        <nav aria-label="Settings" ref={navRef}>
          <p class="nav-heading">Workspace Settings</p>
          {/* Ungated sections show at once; the rest join when permissions arrive. */}
          <ul class="nav-list">{(perms.loading ? workspaceSections.filter((s) => !s.anyOf) : workspaceSections).map(nav)}</ul>
          <p class="nav-heading personal">Personal Settings</p>
          <ul class="nav-list">{personalSections.map(nav)}</ul>
        </nav>
        <div class="sidebar-user">
          <Avatar name={me?.name ?? ''} src={me?.avatar_url} round size={28} />
          <span class="sidebar-user-name">{me?.name}</span>
          <button
            class="link-button"
            type="button"
            onClick={async () => {
              await post('/v1/auth/logout').catch(() => undefined);
              await reload();
              navigate('/login', true);
            }}
          >
            Log out
          </button>
        </div>
      </aside>
      <main id="main" class="content" tabIndex={-1}>
        <VerifyEmailNotice />
        <div class="context-banner">
          {ws.data ? (
            <>
              <Avatar name={ws.data.name} src={ws.data.logo_url} size={40} label={`${ws.data.name} logo`} />
              <div>
                <div class="context-name">{ws.data.name}</div>
                <Badge tone="blue">Workspace</Badge>
              </div>
            </>
          ) : (
            <div class="context-placeholder" aria-hidden="true" />
          )}
          <div class="context-tools">
            <NotificationBell ws={props.ws} />
          </div>
        </div>
        {ws.error instanceof ApiError && ws.error.code === 'sso_required' ? (
          <SsoRequired error={ws.error} />
        ) : ws.error instanceof ApiError && ws.error.code === 'member_deactivated' ? (
          <MemberDeactivated workspace={me?.memberships.find((m) => m.workspace_id === props.ws)?.workspace_name ?? 'this workspace'} others={(me?.memberships.length ?? 1) > 1} />
        ) : ws.error instanceof ApiError && ws.error.code === 'member_suspended' ? (
          <MemberSuspended workspace={me?.memberships.find((m) => m.workspace_id === props.ws)?.workspace_name ?? 'this workspace'} others={(me?.memberships.length ?? 1) > 1} />
        ) : ws.error ? (
          <p role="alert" class="form-error">
            This workspace could not be loaded. It may have been deleted or you may no longer be a member.
          </p>
        ) : ws.data && !perms.loading ? (
          props.children(ws.data, ws.reload)
        ) : (
          <div class="loading" aria-busy="true">
            Loading…
          </div>
        )}
      </main>
    </div>
  );
}

/** A workspace that enforces SSO refuses sessions its own SSO did not make (403 sso_required). */
function SsoRequired(props: { error: ApiError }) {
  const url = ssoUrlOf(props.error, location.pathname + location.search);
  return (
    <section class="card sso-required" aria-labelledby="sso-required-title">
      <h1 id="sso-required-title">Single sign-on required</h1>
      <p>{props.error.detail || 'This workspace requires single sign-on.'}</p>
      <p class="muted">You are signed in with a password. Sign in through your identity provider to continue in this workspace; your other workspaces are unaffected.</p>
      <div class="page-actions">
        {url && (
          <button class="button primary" type="button" onClick={() => location.assign(url)}>
            Continue with single sign-on
          </button>
        )}
      </div>
    </section>
  );
}

/** The directory deactivated the caller's membership (403 member_deactivated on every route of
 *  the workspace): say so, instead of a generic error. */
function MemberDeactivated(props: { workspace: string; others: boolean }) {
  return (
    <section class="card member-deactivated" aria-labelledby="member-deactivated-title">
      <h1 id="member-deactivated-title">Access deactivated</h1>
      <p>Your access to {props.workspace} was deactivated by its directory. Contact an administrator.</p>
      <p class="muted">
        An administrator of {props.workspace} can reactivate you there or in your company's directory.
        {props.others ? ' Your other workspaces are unaffected: choose one in the workspace menu.' : ''}
      </p>
    </section>
  );
}

/** An administrator suspended the caller's membership (403 member_suspended on every route of
 *  the workspace) until they unsuspend it: say so, instead of a generic error. */
function MemberSuspended(props: { workspace: string; others: boolean }) {
  return (
    <section class="card member-suspended" aria-labelledby="member-suspended-title">
      <h1 id="member-suspended-title">Access suspended</h1>
      <p>An administrator suspended your access to this workspace.</p>
      <p class="muted">
        Your API keys in {props.workspace} do not work until an administrator of {props.workspace} unsuspends you. Nothing was deleted.
        {props.others ? ' Your other workspaces are unaffected: choose one in the workspace menu.' : ''}
      </p>
    </section>
  );
}
