// Who is signed in: GET /v1/me once at start, refreshed after changes that affect it.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ApiError, get, Me, setCsrfToken } from './api';
import { applyTheme } from './theme';

export interface Session {
  me: Me | null;
  /** Reloads /v1/me (after login, signup, workspace creation, leaving…). */
  reload: () => Promise<Me | null>;
}

export const SessionContext = createContext<Session>({ me: null, reload: async () => null });

export const useSession = () => useContext(SessionContext);

export async function loadMe(): Promise<Me | null> {
  try {
    const me = await get<Me>('/v1/me');
    setCsrfToken(me.csrf_token);
    applyTheme(me.theme);
    return me;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}
