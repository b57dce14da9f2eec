// Projects: the list the caller may see, creation, and members with per-project roles.
import { useState } from 'preact/hooks';
import { ApiError, del, get, Member, Page, post, Project, put, Role, Workspace, wsPath } from '../api';
import { usePermissions } from '../permissions';
import { Badge, Card, Dialog, fieldErrors, FormError, formatDate, SelectField, TextField, useAsync } from '../ui';
import { SkeletonRows } from './team';

const ENVIRONMENTS = ['production', 'staging', 'development'];

export function Projects(props: { ws: Workspace }) {
  const ws = props.ws;
  const perms = usePermissions(ws.id);
  const canManage = perms.can('projects.manage');
  const projects = useAsync(() => get<Page<Project>>(wsPath(ws.id, '/projects?limit=200')), [ws.id]);
  const [creating, setCreating] = useState(false);
  const [open, setOpen] = useState<string | null>(null);
  const [notice, setNotice] = useState('');
  return (
    <div class="page">
      <header class="page-header">
        <div>
          <h1>Projects</h1>
          <p class="muted">Members see only the projects they are assigned to; keys are scoped to a project.</p>
        </div>
        {canManage && (
          <div class="page-actions">
            <button class="button primary" type="button" onClick={() => setCreating(true)}>
              Create Project
            </button>
          </div>
        )}
      </header>
      <div class="notice" role="status" aria-live="polite">
        {notice}
      </div>
      <Card title="Your projects">
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Project</th>
                <th scope="col">Environment</th>
                <th scope="col">Your role</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {projects.loading && !projects.data && <SkeletonRows cols={5} />}
              {projects.data && projects.data.data.length === 0 && (
                <tr>
                  <td colSpan={5} class="empty">
                    No projects yet.
                  </td>
                </tr>
              )}
              {projects.data?.data.map((p: any) => (
                <tr key={p.id}>
                  <td class="person-name">{p.name}</td>
                  <td>
                    <Badge tone={p.environment === 'production' ? 'green' : 'gray'}>{p.environment}</Badge>
                  </td>
                  <td>{p.role_name ?? p.role ?? '—'}</td>
                  <td>{formatDate(p.created_at)}</td>
                  <td class="actions">
                    <button class="button secondary small" type="button" aria-label={`Members of ${p.name}`} onClick={() => setOpen(p.id)}>
                      Members
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {projects.error ? <FormError error={projects.error as ApiError} /> : null}
      </Card>
      {creating && (
        <CreateProjectDialog
          ws={ws}
          onClose={() => setCreating(false)}
          onCreated={(p) => {
            setCreating(false);
            setNotice(`Project ${p.name} created.`);
            projects.reload();
          }}
        />
      )}
      {open && <ProjectMembersDialog ws={ws} projectId={open} canManage={canManage} onClose={() => setOpen(null)} />}
    </div>
  );
}

function CreateProjectDialog(props: { ws: Workspace; onClose: () => void; onCreated: (p: Project) => void }) {
  const [name, setName] = useState('');
  const [environment, setEnvironment] = useState('production');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<any>(null);
  return (
    <Dialog title="Create Project" onClose={props.onClose}>
      <form
        noValidate
        onSubmit={async (e) => {
          e.preventDefault();
          if (!name.trim()) {
            setErrors({ name: 'Enter a project name.' });
            return;
          }
          try {
            props.onCreated(await post<Project>(wsPath(props.ws.id, '/projects'), { name: name.trim(), environment }));
          } catch (err) {
            const f = fieldErrors(err, ['name', 'environment']);
            setErrors(f.fields);
            setFormError(f.rest);
          }
        }}
      >
        <TextField label="Project name" value={name} onValue={setName} error={errors.name} placeholder="Production" autoFocus />
        <SelectField label="Environment" value={environment} onValue={setEnvironment} error={errors.environment} options={ENVIRONMENTS.map((e) => ({ value: e, label: e[0].toUpperCase() + e.slice(1) }))} />
        <FormError error={formError} />
        <div class="dialog-actions">
          <button class="button secondary" type="button" onClick={props.onClose}>
            Cancel
          </button>
          <button class="button primary" type="submit">
            Create project
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ProjectMembersDialog(props: { ws: Workspace; projectId: string; canManage: boolean; onClose: () => void }) {
  const { ws, projectId } = props;
  const project = useAsync(() => get<Project>(wsPath(ws.id, `/projects/${projectId}`)), [projectId]);
  const members = useAsync(() => (props.canManage ? get<Page<Member>>(wsPath(ws.id, '/members?limit=200')) : Promise.resolve({ data: [], next_cursor: null })), [ws.id]);
  const roles = useAsync(() => get<{ data: Role[] }>(wsPath(ws.id, '/roles')), [ws.id]);
  const roleList = (roles.data?.data ?? []).filter((r) => r.id !== 'owner');
  const [addUser, setAddUser] = useState('');
  const [addRole, setAddRole] = useState('');
  const [error, setError] = useState<any>(null);
  const inProject = new Set((project.data?.members ?? []).map((m) => m.user_id));
  const candidates = (members.data?.data ?? []).filter((m) => !inProject.has(m.user_id));

  async function setRole(userId: string, role: string) {
    setError(null);
    try {
      await put(wsPath(ws.id, `/projects/${projectId}/members/${userId}`), { role });
      if (userId === addUser) setAddUser('');
      project.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <Dialog title={project.data ? `${project.data.name} members` : 'Project members'} onClose={props.onClose}>
      <ul class="session-list">
        {project.data?.members?.length === 0 && <li class="empty">Nobody is assigned to this project yet.</li>}
        {project.data?.members?.map((m: any) => (
          <li key={m.user_id}>
            <div>
              <strong>{m.name}</strong>
              <div class="muted small">{m.email}</div>
            </div>
            {props.canManage ? (
              <div class="row-actions">
                <select aria-label={`Project role of ${m.name}`} value={m.role} onChange={(e) => setRole(m.user_id, (e.target as HTMLSelectElement).value)}>
                  {roleList.map((r) => (
                    <option key={r.id} value={r.id}>
                      {r.name}
                    </option>
                  ))}
                </select>
                <button
                  class="button danger-outline small"
                  type="button"
                  aria-label={`Remove ${m.name} from the project`}
                  onClick={async () => {
                    try {
                      await del(wsPath(ws.id, `/projects/${projectId}/members/${m.user_id}`));
                      project.reload();
                    } catch (e) {
                      setError(e);
                    }
                  }}
                >
                  Remove
                </button>
              </div>
            ) : (
              <Badge>{m.role_name ?? m.role}</Badge>
            )}
          </li>
        ))}
      </ul>
      {props.canManage && candidates.length > 0 && (
        <form
          class="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (addUser) setRole(addUser, addRole || roleList[0]?.id || 'developer');
          }}
        >
          <SelectField label="Add member" value={addUser} onValue={setAddUser} options={[{ value: '', label: 'Choose a member…' }, ...candidates.map((m) => ({ value: m.user_id, label: m.name || m.email }))]} />
          <SelectField label="Project role" value={addRole || roleList[0]?.id || ''} onValue={setAddRole} options={roleList.map((r) => ({ value: r.id, label: r.name }))} />
          <button class="button primary" type="submit" disabled={!addUser}>
            Add
          </button>
        </form>
      )}
      <FormError error={error} />
    </Dialog>
  );
}
