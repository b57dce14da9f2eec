// Suspending members (issue 19) walked in Chromium against the real binary: the owner suspends a
// Developer from their team row with a reason (the dialog says what it does; the badge says
// Suspended; the audit log keeps the reason), the Developer in a second browser sees the
// "Access suspended" screen instead of the workspace, the owner unsuspends and the Developer is
// back; a Developer is offered neither Suspend nor Unsuspend; the server's refusals on a stale
// list are shown; and a bell notification with a link takes the owner there without reloading.
// Run by dashboard.test.mjs (scripts/test.sh), or alone:
//   GATEHOUSE_BIN=build/gatehouse node --test tests/browser/suspension.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, Gatehouse, launchBrowser, screenshots, SmtpSink, until } from './harness.mjs';

const PASSWORD = 'correct horse battery staple';
const WORKSPACE = 'Acme Suspend';
const OWNER = { name: 'Olive Owner', email: 'olive@acme-suspend.example.com' };
const DEV = { name: 'Dara Developer', email: 'dara@acme-suspend.example.com' };
const QUINN = { name: 'Quinn Third', email: 'quinn@acme-suspend.example.com' };
const REASON = 'Unusual export volume from their keys';
const CONFIG = `[limits]
signups_per_ip_per_hour = 0
`;

describe('suspending members', { concurrency: false }, () => {
  let smtp, server, browser, ownerCtx, owner, devCtx, dev, wsId, configDir;
  const ids = {};
  const scriptErrors = [];

  function watch(page) {
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => scriptErrors.push(String(e)));
    page.on('console', (m) => {
      // The suspended member's screen stands on 403 answers, which the browser logs as such.
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) scriptErrors.push(m.text());
    });
    return page;
  }

  /** POST as the owner, through the API (what another admin or a script would do meanwhile). */
  const ownerPost = (p, data = {}) => owner.request.post(p, { data, headers: { 'X-CSRF-Token': owner.csrf } });
  const members = async () => (await (await owner.request.get(`/v1/workspaces/${wsId}/members?limit=200`)).json()).data;
  const statusOf = async (userId) => (await members()).find((m) => m.user_id === userId)?.status;
  const row = (page, who) => page.getByRole('row', { name: new RegExp(who.name) });

  before(async () => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-suspend-'));
    fs.writeFileSync(path.join(configDir, 'gatehouse.toml'), CONFIG);
    smtp = await new SmtpSink().start();
    server = await new Gatehouse({ smtpUrl: smtp.url, extraArgs: ['--config', path.join(configDir, 'gatehouse.toml')] }).start();
    browser = await launchBrowser();
    ownerCtx = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    owner = watch(await ownerCtx.newPage());
    devCtx = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    dev = watch(await devCtx.newPage());
    // The owner, the workspace and two Developers through the API: the first suite walks those screens.
    const signup = await owner.request.post('/v1/auth/signup', { data: { ...OWNER, password: PASSWORD } });
    assert.equal(signup.status(), 201);
    owner.csrf = (await signup.json()).csrf_token;
    const ws = await ownerPost('/v1/workspaces', { name: WORKSPACE });
    assert.equal(ws.status(), 201);
    wsId = (await ws.json()).id;
    for (const [who, request] of [
      [DEV, dev.request],
      [QUINN, null],
    ]) {
      const invited = await ownerPost(`/v1/workspaces/${wsId}/invitations`, { email: who.email });
      assert.equal(invited.status(), 201, await invited.text());
      const link = (await smtp.waitFor(who.email)).text.match(/https?:\/\/\S+\/accept-invite\?token=[A-Za-z0-9_-]+/)[0];
      const token = new URL(link).searchParams.get('token');
      const body = { name: who.name, password: PASSWORD };
      const status = request
        ? (await request.post(`/v1/invitations/${token}/accept`, { data: body })).status()
        : (await fetch(`${server.url}/v1/invitations/${token}/accept`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).status;
      assert.equal(status, 201);
    }
    for (const m of await members()) ids[m.email] = m.user_id;
    assert.equal((await members()).find((m) => m.email === DEV.email).role, 'developer');
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    smtp?.stop();
    if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('the owner suspends a Developer from their row with a reason; the badge says Suspended', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await row(owner, DEV).waitFor();
    // Never on your own row, nor on the owner's (the same row here).
    assert.equal(await row(owner, OWNER).getByRole('button', { name: /^Suspend/ }).count(), 0);
    assert.equal(await owner.getByText('Suspended', { exact: true }).count(), 0);

    await row(owner, DEV).getByRole('button', { name: `Suspend ${DEV.name}`, exact: true }).click();
    const dialog = owner.getByRole('dialog', { name: `Suspend ${DEV.name}?` });
    await dialog
      .getByText('They are refused in this workspace and their API keys here stop working (verify answers SUSPENDED) until you unsuspend them. Nothing is deleted.')
      .waitFor();
    const reason = dialog.getByLabel('Reason (optional)');
    assert.equal(await reason.getAttribute('maxlength'), '500');
    // Cancel changes nothing.
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await statusOf(ids[DEV.email]), 'active');

    await row(owner, DEV).getByRole('button', { name: `Suspend ${DEV.name}`, exact: true }).click();
    await reason.fill(REASON);
    await screenshots(owner, 'member-suspend-dialog');
    await dialog.getByRole('button', { name: 'Suspend member' }).click();
    await owner.getByText(`${DEV.name} is suspended in ${WORKSPACE}.`).waitFor();
    await dialog.waitFor({ state: 'detached' });
    await row(owner, DEV).getByText('Suspended', { exact: true }).waitFor();
    await owner.getByText('1 suspended', { exact: false }).waitFor();
    await row(owner, DEV).getByRole('button', { name: `Unsuspend ${DEV.name}` }).waitFor();
    assert.equal(await row(owner, DEV).getByRole('button', { name: `Suspend ${DEV.name}`, exact: true }).count(), 0);
    await screenshots(owner, 'member-suspended-row');

    assert.equal(await statusOf(ids[DEV.email]), 'suspended');
    const audit = await (await owner.request.get(`/v1/workspaces/${wsId}/audit-logs?action=member.suspended`)).json();
    assert.equal(audit.data[0].target.id, ids[DEV.email]);
    assert.equal(audit.data[0].details.reason, REASON);
    // It survives a reload: the state is the server's.
    await owner.reload();
    await row(owner, DEV).getByText('Suspended', { exact: true }).waitFor();
  });

  test('the suspended Developer sees the suspended screen, not the workspace', async () => {
    await dev.goto(`/w/${wsId}/settings/team`);
    await dev.getByRole('heading', { name: 'Access suspended' }).waitFor();
    await dev.getByText('An administrator suspended your access to this workspace.').waitFor();
    await dev.getByText('Nothing was deleted.', { exact: false }).waitFor();
    assert.equal(await dev.getByText('This workspace could not be loaded', { exact: false }).count(), 0);
    assert.equal(await dev.getByRole('heading', { name: 'Team Members' }).count(), 0);
    await screenshots(dev, 'member-suspended');
    // Every screen of the workspace says the same.
    await dev.goto(`/w/${wsId}/api-keys`);
    await dev.getByRole('heading', { name: 'Access suspended' }).waitFor();
  });

  test('the owner unsuspends: the badge goes, and the Developer sees the workspace again', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await row(owner, DEV).getByRole('button', { name: `Unsuspend ${DEV.name}` }).click();
    await owner.getByText(`${DEV.name} is no longer suspended`, { exact: false }).waitFor();
    await row(owner, DEV).getByText('Suspended', { exact: true }).waitFor({ state: 'detached' });
    await row(owner, DEV).getByRole('button', { name: `Suspend ${DEV.name}`, exact: true }).waitFor();
    assert.equal(await owner.getByText(/\d+ suspended/).count(), 0, 'the member count no longer counts a suspended member');
    assert.equal(await statusOf(ids[DEV.email]), 'active');

    await dev.reload();
    await dev.getByRole('heading', { name: 'API Keys' }).waitFor();
    await dev.goto(`/w/${wsId}/settings/team`);
    await dev.getByRole('heading', { name: 'Team Members' }).waitFor();
    await dev.getByRole('cell', { name: new RegExp(`${DEV.name} \\(You\\)`) }).waitFor();
    assert.equal(await dev.getByRole('heading', { name: 'Access suspended' }).count(), 0);
  });

  test('a Developer is offered neither Suspend nor Unsuspend', async () => {
    const r = await ownerPost(`/v1/workspaces/${wsId}/members/${ids[QUINN.email]}/suspend`);
    assert.equal(r.status(), 200, await r.text());
    await dev.goto(`/w/${wsId}/settings/team`);
    await row(dev, QUINN).getByText('Suspended', { exact: true }).waitFor();
    assert.equal(await dev.getByRole('button', { name: /^Suspend / }).count(), 0);
    assert.equal(await dev.getByRole('button', { name: /^Unsuspend / }).count(), 0);
    assert.equal(await dev.getByRole('button', { name: 'Suspend…' }).count(), 0);
  });

  test("the server's refusals on a stale list are shown, and the list catches up", async () => {
    // Quinn is suspended (previous test); the owner's page says so; an API call unsuspends behind it.
    await owner.goto(`/w/${wsId}/settings/team`);
    const unsuspend = row(owner, QUINN).getByRole('button', { name: `Unsuspend ${QUINN.name}` });
    await unsuspend.waitFor();
    assert.equal((await ownerPost(`/v1/workspaces/${wsId}/members/${ids[QUINN.email]}/unsuspend`)).status(), 200);
    await unsuspend.click();
    await row(owner, QUINN).getByRole('alert').filter({ hasText: 'The member is not suspended.' }).waitFor();
    await row(owner, QUINN).getByText('Suspended', { exact: true }).waitFor({ state: 'detached' });

    // Now the page says active; an API call suspends behind it.
    assert.equal((await ownerPost(`/v1/workspaces/${wsId}/members/${ids[QUINN.email]}/suspend`)).status(), 200);
    await row(owner, QUINN).getByRole('button', { name: `Suspend ${QUINN.name}`, exact: true }).click();
    const dialog = owner.getByRole('dialog', { name: `Suspend ${QUINN.name}?` });
    await dialog.getByRole('button', { name: 'Suspend member' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'The member is suspended already.' }).waitFor();
    await row(owner, QUINN).getByText('Suspended', { exact: true }).waitFor();
    await screenshots(owner, 'member-suspend-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  test('a bell notification with a link takes the owner there without reloading, and is read', async () => {
    // The Developer's arrival (member.joined) reached the owner's bell, with a link to the team.
    const joined = await until(async () => {
      const list = await (await owner.request.get(`/v1/me/notifications?workspace=${wsId}&limit=50`)).json();
      return list.data.find((n) => n.title === `${DEV.name} joined the workspace`);
    }, 'the member.joined notification');
    assert.equal(joined.link, `/w/${wsId}/settings/team`);
    assert.equal(joined.read_at, null);

    await owner.goto(`/w/${wsId}/settings/general`);
    await owner.getByRole('heading', { name: 'General', exact: true }).waitFor();
    await owner.evaluate(() => (window.__sameDocument = true));
    await owner.getByRole('button', { name: /^Notifications, \d+ unread$/ }).click();
    const panel = owner.getByRole('region', { name: 'Notifications' });
    const item = panel.getByRole('link', { name: new RegExp(`^Unread: ${DEV.name} joined the workspace`) });
    assert.equal(await item.getAttribute('href'), joined.link);
    await item.click();
    await owner.waitForURL(`**${joined.link}`);
    await owner.getByRole('heading', { name: 'Team Members' }).waitFor();
    await panel.waitFor({ state: 'detached' });
    assert.equal(await owner.evaluate(() => window.__sameDocument), true, 'the router navigated; the page did not reload');
    await until(async () => {
      const list = await (await owner.request.get(`/v1/me/notifications?workspace=${wsId}&limit=50`)).json();
      return list.data.find((n) => n.id === joined.id)?.read_at;
    }, 'the notification to be read');
    // Back goes back to where the owner was.
    await owner.goBack();
    await owner.getByRole('heading', { name: 'General', exact: true }).waitFor();
  });

  test('no script errors or content-security-policy violations on these screens', () => {
    assert.deepEqual(scriptErrors, []);
  });
});
