// Routes of the dashboard.
import { useEffect, useState } from 'preact/hooks';
import { Me } from './api';
import { AcceptInvite } from './pages/accept';
import { Account } from './pages/account';
import { ApiKeys } from './pages/api_keys';
import { AuditLog } from './pages/audit';
import { Login, Signup } from './pages/auth';
import { Billing } from './pages/billing';
import { DirectorySync } from './pages/directory';
import { General } from './pages/general';
import { Notifications } from './pages/notifications';
import { Projects } from './pages/projects';
import { ForgotPassword, ResetPassword, VerifyEmail } from './pages/recovery';
import { TeamMembers } from './pages/team';
import { SsoReturn, SsoSettings } from './pages/sso';
import { Webhooks } from './pages/webhooks';
import { CreateWorkspace } from './pages/workspaces';
import { match, navigate, useLocation } from './router';
import { loadMe, SessionContext } from './session';
import { Shell } from './shell';

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  const loc = useLocation();

  const reload = async () => {
    const m = await loadMe();
    setMe(m);
    return m;
  };
  useEffect(() => {
    reload().catch(() => setFailed(true));
  }, []);

  if (failed) {
    return (
      <main class="auth-layout">
        <p role="alert">Gatehouse could not be reached. Reload the page to try again.</p>
      </main>
    );
  }
  if (me === undefined) return <div class="loading" aria-busy="true" />;
  return <SessionContext.Provider value={{ me, reload }}>{route(loc.path, loc.query, me)}</SessionContext.Provider>;
}

/** A ?next= target: only a path of this site (never //host or a full URL). */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function Redirect(props: { to: string }) {
  useEffect(() => navigate(props.to, true), [props.to]);
  return null;
}

function route(path: string, query: URLSearchParams, me: Me | null) {
  if (path === '/accept-invite') return <AcceptInvite token={query.get('token') ?? ''} />;
  if (path === '/verify-email') return <VerifyEmail token={query.get('token') ?? ''} />;
  if (path === '/reset-password') return <ResetPassword token={query.get('token') ?? ''} />;
  if (path === '/forgot-password') return <ForgotPassword />;
  if (path === '/signup') return me ? <Redirect to="/" /> : <Signup />;
  if (path === '/login') return me ? <Redirect to={safeNext(query.get('next'))} /> : <Login />;
  if (!me) return <Redirect to={`/login${path !== '/' ? '?next=' + encodeURIComponent(path + location.search) : ''}`} />;
  if (path === '/workspaces/new') return <CreateWorkspace />;
  // Where the server sends the browser back after an SSO test login.
  if (path === '/settings/sso') return <SsoReturn memberships={me.memberships} query={query} />;
  if (path === '/') {
    if (me.memberships.length === 0) return <Redirect to="/workspaces/new" />;
    const saved = localStorage.getItem('gh.workspace');
    const ws = me.memberships.find((m) => m.workspace_id === saved)?.workspace_id ?? me.memberships[0].workspace_id;
    return <Redirect to={`/w/${ws}/settings/team`} />;
  }
  let p = match('/w/:ws/settings/:section', path);
  if (p) {
    const ws = p.ws;
    switch (p.section) {
      case 'general':
        return <Shell ws={ws} section="general">{(w, reloadWs) => <General ws={w} reloadWs={reloadWs} />}</Shell>;
      case 'billing':
        return <Shell ws={ws} section="billing">{(w) => <Billing ws={w} />}</Shell>;
      case 'team':
        return <Shell ws={ws} section="team">{(w, reloadWs) => <TeamMembers ws={w} reloadWs={reloadWs} />}</Shell>;
      case 'sso':
        return <Shell ws={ws} section="sso">{(w, reloadWs) => <SsoSettings ws={w} reloadWs={reloadWs} />}</Shell>;
      case 'directory':
        return <Shell ws={ws} section="directory">{(w) => <DirectorySync ws={w} />}</Shell>;
      case 'webhooks':
        return <Shell ws={ws} section="webhooks">{(w) => <Webhooks ws={w} />}</Shell>;
      case 'notifications':
        return <Shell ws={ws} section="notifications">{(w) => <Notifications ws={w} />}</Shell>;
      case 'account':
        return <Shell ws={ws} section="account">{(w) => <Account ws={w} />}</Shell>;
    }
  }
  if ((p = match('/w/:ws/projects', path))) return <Shell ws={p.ws} section="projects">{(w) => <Projects ws={w} />}</Shell>;
  if ((p = match('/w/:ws/api-keys', path))) return <Shell ws={p.ws} section="api-keys">{(w) => <ApiKeys ws={w} />}</Shell>;
  if ((p = match('/w/:ws/audit-log', path))) return <Shell ws={p.ws} section="audit-log">{(w) => <AuditLog ws={w} />}</Shell>;
  if ((p = match('/w/:ws', path))) return <Redirect to={`/w/${p.ws}/settings/team`} />;
  return (
    <main class="auth-layout">
      <div class="auth-card">
        <h1>Page not found</h1>
        <p>
          <a href="/">Go to your workspace</a>
        </p>
      </div>
    </main>
  );
}
