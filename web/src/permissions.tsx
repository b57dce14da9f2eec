// usePermissions: the caller's role and permissions in a workspace, from
// GET /v1/workspaces/{ws}/permissions, cached for five minutes (the server enforces anyway;
// this only decides which controls to show).
import { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, wsPath } from './api';

export interface Permissions {
  role: string;
  role_name?: string;
  permissions: string[];
  projects: { project_id: string; role: string; permissions: string[] }[];
}

const TTL_MS = 5 * 60 * 1000;
const cache = new Map<string, { at: number; value: Promise<Permissions> }>();
const listeners = new Set<() => void>();

function load(ws: string): Promise<Permissions> {
  const hit = cache.get(ws);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.value;
  // This module's cache is the one that counts: skip the browser's, so that a reload
  // after a role change sees the new role.
  const value = api<Permissions>('GET', wsPath(ws, '/permissions'), { cache: 'no-cache' });
  cache.set(ws, { at: Date.now(), value });
  value.catch(() => cache.delete(ws));
  return value;
}

/** Forgets cached permissions (after the caller's own role may have changed). */
export function invalidatePermissions(ws?: string) {
  if (ws) cache.delete(ws);
  else cache.clear();
  listeners.forEach((l) => l());
}

export interface PermissionState {
  loading: boolean;
  role: string;
  /** The role's display name (a custom role's own name). */
  roleName: string;
  can: (permission: string) => boolean;
}

export function usePermissions(ws: string): PermissionState {
  const [perms, setPerms] = useState<Permissions | null>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  useEffect(() => {
    let live = true;
    setPerms(null);
    load(ws).then(
      (p) => live && setPerms(p),
      () => live && setPerms({ role: '', permissions: [], projects: [] }),
    );
    return () => {
      live = false;
    };
  }, [ws, tick]);
  const set = new Set(perms?.permissions ?? []);
  return { loading: perms === null, role: perms?.role ?? '', roleName: perms?.role_name ?? perms?.role ?? '', can: (p) => set.has(p) };
}

/** Renders its children only when the caller holds `permission` in workspace `ws`. */
export function PermissionGuard(props: { ws: string; permission: string; children: ComponentChildren; fallback?: ComponentChildren }) {
  const perms = usePermissions(props.ws);
  if (perms.loading) return null;
  return <>{perms.can(props.permission) ? props.children : props.fallback ?? null}</>;
}
