// Webhooks and notifications (issue 18) walked in Chromium against the real binary, with the
// e2e tests' webhook receiver (npm standardwebhooks verifies every signature, and it sinks
// Slack messages): an owner adds an endpoint (a refused URL explained at its field), sees the
// signing secret once, sends a test and retries it, rotates the secret, sees a 410 disable the
// endpoint and enables it again, and deletes it; the notification rules (12 types in three
// categories) save per row and persist; the Slack card connects, shows only a masked URL and
// tests; the bell counts a new member's arrival and "Mark all as read" clears it, polling every
// 30 s only while the tab is visible; a Developer sees neither screen; and the account's email
// preferences save. Run by dashboard.test.mjs (scripts/test.sh), or alone:
//   GATEHOUSE_BIN=build/gatehouse node --test tests/browser/notifications.test.mjs
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DESKTOP, Gatehouse, launchBrowser, screenshots, SmtpSink, until, WebhookReceiver } from './harness.mjs';

const PASSWORD = 'correct horse battery staple';
const OWNER = { name: 'Nora Owner', email: 'nora@acme-notify.example.com' };
const DEV = { name: 'Dev Eloper', email: 'dev@acme-notify.example.com' };
const QUINN = { name: 'Quinn Second', email: 'quinn@acme-notify.example.com' };
// The receiver stands on 127.0.0.1, which only an operator's allow_private_networks admits.
const CONFIG = `[limits]
signups_per_ip_per_hour = 0

[webhooks]
retry_seconds = [1, 1, 1]
allow_private_networks = true
`;

describe('webhooks and notifications', { concurrency: false }, () => {
  let smtp, receiver, server, browser, ownerCtx, owner, devCtx, dev, wsId, configDir;
  const scriptErrors = [];

  function watch(page) {
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => scriptErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) scriptErrors.push(m.text());
    });
    return page;
  }

  const rules = async () => (await (await owner.request.get(`/v1/workspaces/${wsId}/notification-rules`)).json()).data;

  before(async () => {
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-notify-'));
    fs.writeFileSync(path.join(configDir, 'gatehouse.toml'), CONFIG);
    [smtp, receiver] = await Promise.all([new SmtpSink().start(), new WebhookReceiver().start()]);
    server = await new Gatehouse({ smtpUrl: smtp.url, extraArgs: ['--config', path.join(configDir, 'gatehouse.toml')] }).start();
    browser = await launchBrowser();
    ownerCtx = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    owner = watch(await ownerCtx.newPage());
    devCtx = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    dev = watch(await devCtx.newPage());
    // The owner and the workspace through the API: the first suite walks those screens.
    const signup = await owner.request.post('/v1/auth/signup', { data: { ...OWNER, password: PASSWORD } });
    assert.equal(signup.status(), 201);
    owner.csrf = (await signup.json()).csrf_token;
    const ws = await owner.request.post('/v1/workspaces', { data: { name: 'Acme Notify' }, headers: { 'X-CSRF-Token': owner.csrf } });
    assert.equal(ws.status(), 201);
    wsId = (await ws.json()).id;
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    smtp?.stop();
    receiver?.stop();
    if (configDir) fs.rmSync(configDir, { recursive: true, force: true });
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('the owner adds a webhook endpoint, sees its secret once, sends a test and retries it', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await owner.getByRole('link', { name: 'Webhooks' }).click();
    await owner.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
    await owner.getByText('No endpoints yet.', { exact: false }).waitFor();

    await owner.getByRole('button', { name: 'Add endpoint' }).click();
    const add = owner.getByRole('dialog', { name: 'Add webhook endpoint' });
    await add.waitFor();
    // Event types are chips: typed, Enter; a malformed one is explained before anything is sent.
    const types = add.getByLabel('Event types', { exact: true });
    await types.fill('member.*');
    await types.press('Enter');
    await types.fill('api_key.revoked');
    await types.press('Enter');
    await types.fill('Not a type');
    await types.press('Enter');
    await add.getByText('is not an event type', { exact: false }).waitFor();
    await types.fill('');
    await add.getByRole('button', { name: 'Remove api_key.revoked' }).click();
    await add.getByRole('button', { name: 'Remove member.*' }).waitFor();
    // The server refuses a URL with credentials (webhook_url_not_allowed), said at the field.
    await add.getByLabel('Endpoint URL').fill('https://user:pass@hooks.example.com/in');
    await add.getByLabel('Description').fill('CRM sync');
    await add.getByRole('button', { name: 'Add endpoint' }).click();
    await add.getByText('may not carry a user name or password', { exact: false }).waitFor();
    assert.equal(await add.getByLabel('Endpoint URL').getAttribute('aria-invalid'), 'true');
    await screenshots(owner, 'webhook-add-refused');

    await add.getByLabel('Endpoint URL').fill(receiver.url('/hook'));
    await add.getByRole('button', { name: 'Add endpoint' }).click();
    const shown = owner.getByRole('dialog', { name: 'Endpoint added' });
    await shown.getByText('It will not be shown again', { exact: false }).waitFor();
    const secret = await shown.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    assert.match(secret, /^whsec_/);
    await shown.getByRole('button', { name: 'Copy Signing secret' }).waitFor();
    await screenshots(owner, 'webhook-secret');
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    assert.ok(!(await owner.content()).includes(secret), 'the secret is gone once the dialog closes');
    await receiver.secrets([secret]);

    // The endpoint's page: its URL, its filter, and no deliveries yet.
    await owner.getByRole('heading', { name: /Webhook endpoint/ }).waitFor();
    await owner.getByText(receiver.url('/hook'), { exact: true }).waitFor();
    await owner.getByRole('definition').filter({ hasText: 'member.*' }).waitFor();
    await owner.getByText('No deliveries yet.', { exact: false }).waitFor();
    await owner.reload();
    await owner.getByText('No deliveries yet.', { exact: false }).waitFor();
    assert.ok(!(await owner.content()).includes(secret), 'and the endpoint never carries it');

    // Send test: a webhook.test delivery, signed, delivered, shown as Succeeded.
    await owner.getByRole('button', { name: 'Send test event' }).click();
    await owner.getByText('Test event sent', { exact: false }).waitFor();
    const deliveries = owner.getByRole('table', { name: 'Deliveries' });
    const row = deliveries.getByRole('row').filter({ hasText: 'webhook.test' });
    await row.getByText('Succeeded', { exact: true }).waitFor();
    const [first] = await receiver.waitFor('/hook', 1);
    assert.equal(first.verified, true, first.verify_error);
    assert.equal(JSON.parse(first.body).type, 'webhook.test');
    const msgId = first.headers['webhook-id'];
    assert.match(msgId, /^msg_/);
    await row.getByText(msgId).waitFor();
    await row.getByRole('cell', { name: '200', exact: true }).waitFor();
    await screenshots(owner, 'webhook-detail');

    // Retry sends the same message (same webhook-id) once more.
    await row.getByRole('button', { name: `Retry ${msgId}` }).click();
    await owner.getByText(`Delivery ${msgId} is being sent again.`).waitFor();
    const both = await receiver.waitFor('/hook', 2);
    assert.equal(both[1].headers['webhook-id'], msgId);
    assert.equal(both[1].verified, true);
    await row.getByText('Succeeded', { exact: true }).waitFor();

    // The list shows the endpoint with its description, filter and status.
    await owner.getByRole('link', { name: '← All endpoints' }).click();
    const endpoints = owner.getByRole('table', { name: 'Webhook endpoints' });
    const listed = endpoints.getByRole('row').filter({ hasText: receiver.url('/hook') });
    await listed.getByText('CRM sync').waitFor();
    await listed.getByText('Enabled', { exact: true }).waitFor();
    await listed.getByRole('cell', { name: 'member.*', exact: true }).waitFor();
    await screenshots(owner, 'webhooks-list');
  });

  test('rotating the secret shows the new one once; a 410 disables the endpoint until it is enabled again; delete asks first', async () => {
    await owner.goto(`/w/${wsId}/settings/webhooks`);
    await owner.getByRole('button', { name: `Manage ${receiver.url('/hook')}` }).click();
    await owner.getByRole('button', { name: 'Rotate secret' }).click();
    const confirm = owner.getByRole('dialog', { name: 'Rotate the signing secret?' });
    await confirm.getByText('keeps signing beside it for 24 hours', { exact: false }).waitFor();
    await confirm.getByRole('button', { name: 'Rotate secret' }).click();
    const shown = owner.getByRole('dialog', { name: 'Signing secret rotated' });
    const secret = await shown.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    assert.match(secret, /^whsec_/);
    await shown.getByText('For the next 24 hours', { exact: false }).waitFor();
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await owner.getByText('Still signs beside the new one until', { exact: false }).waitFor();
    await receiver.secrets([secret]);

    // Edit: the description and the filter change; the URL stays.
    await owner.getByRole('button', { name: 'Edit', exact: true }).click();
    const edit = owner.getByRole('dialog', { name: 'Edit endpoint' });
    await edit.getByLabel('Description').fill('CRM sync (members and keys)');
    await edit.getByLabel('Event types', { exact: true }).fill('api_key.*');
    await edit.getByRole('button', { name: 'Add event type' }).click();
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await owner.getByText('Endpoint saved.').waitFor();
    await owner.getByText('CRM sync (members and keys)').waitFor();
    await owner.getByRole('definition').filter({ hasText: 'api_key.*, member.*' }).waitFor();

    // The receiver answers 410 Gone: the endpoint is disabled and says why.
    await receiver.plan('/hook', [410]);
    const before = (await receiver.attempts('/hook')).length;
    await owner.getByRole('button', { name: 'Send test event' }).click();
    await receiver.waitFor('/hook', before + 1);
    const endpointId = new URL(owner.url()).searchParams.get('endpoint');
    await until(async () => !(await (await owner.request.get(`/v1/workspaces/${wsId}/webhooks/${endpointId}`)).json()).enabled, 'the endpoint to be disabled');
    await owner.reload();
    const warning = owner.getByText('Gatehouse disabled this endpoint:', { exact: false });
    await warning.waitFor();
    await owner.getByRole('heading', { name: /Webhook endpoint Disabled/ }).waitFor();
    const toggle = owner.getByRole('switch', { name: 'Enabled' });
    assert.equal(await toggle.isChecked(), false);
    await screenshots(owner, 'webhook-disabled');
    await toggle.check();
    await owner.getByText('The endpoint is enabled', { exact: false }).waitFor();
    await warning.waitFor({ state: 'detached' });
    const after = await (await owner.request.get(`/v1/workspaces/${wsId}/webhooks/${endpointId}`)).json();
    assert.equal(after.enabled, true);
    assert.equal(after.disabled_reason, null);

    // Delete asks first, then the list is empty again.
    await owner.getByRole('button', { name: 'Delete', exact: true }).click();
    const del = owner.getByRole('dialog', { name: 'Delete this endpoint?' });
    await del.getByRole('button', { name: 'Cancel' }).click();
    await del.waitFor({ state: 'detached' });
    await owner.getByRole('button', { name: 'Delete', exact: true }).click();
    await del.getByRole('button', { name: 'Delete endpoint' }).click();
    await owner.getByText(`The endpoint ${receiver.url('/hook')} was deleted.`).waitFor();
    await owner.getByText('No endpoints yet.', { exact: false }).waitFor();
  });

  test('notification rules: twelve types in three categories; a row saves and persists, and resets to its default', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await owner.getByRole('link', { name: 'Notifications', exact: true }).click();
    await owner.getByRole('heading', { name: 'Notifications', exact: true }).waitFor();
    for (const c of ['Invite & Access', 'Security', 'System']) await owner.getByRole('table', { name: c }).waitFor();
    assert.equal(await owner.locator('.rules-table tbody tr').count(), 12);
    await owner.getByText('A daily digest gathers email only', { exact: false }).waitFor();
    await screenshots(owner, 'notification-rules');

    const ruleRow = (type) => owner.locator('.rules-table tbody tr').filter({ hasText: type });
    const row = ruleRow('api_key.revoked');
    const slack = row.getByRole('checkbox', { name: /: Slack$/ });
    const wasOn = await slack.isChecked();
    const save = row.getByRole('button', { name: /^Save / });
    assert.ok(await save.isDisabled(), 'nothing to save before a change');
    await slack.setChecked(!wasOn);
    await row.getByRole('combobox', { name: /: frequency$/ }).selectOption({ label: 'Daily digest' });
    await row.getByText('Email only').waitFor();
    await save.click();
    await owner.getByText(': saved.', { exact: false }).waitFor();
    await row.getByRole('button', { name: /^Reset .* to default$/ }).waitFor();
    let saved = (await rules()).find((r) => r.type === 'api_key.revoked');
    assert.equal(saved.channels.includes('slack'), !wasOn);
    assert.equal(saved.frequency, 'daily_digest');
    assert.equal(saved.is_default, false);

    await owner.reload();
    assert.equal(await row.getByRole('checkbox', { name: /: Slack$/ }).isChecked(), !wasOn, 'the change persists after a reload');
    assert.equal(await row.getByRole('combobox', { name: /: frequency$/ }).inputValue(), 'daily_digest');

    // Custom recipients: a role, the person who did it, and a member.
    await row.getByRole('combobox', { name: /: recipients$/ }).selectOption({ label: 'Custom…' });
    const pick = owner.getByRole('dialog', { name: /^Recipients of / });
    await pick.getByRole('checkbox', { name: 'Developer' }).check();
    await pick.getByRole('switch', { name: 'Include the person who did it' }).check();
    await pick.getByRole('checkbox', { name: new RegExp(OWNER.name) }).check();
    await screenshots(owner, 'notification-recipients');
    await pick.getByRole('button', { name: 'Done' }).click();
    await row.getByText('Developer', { exact: false }).waitFor();
    await row.getByRole('button', { name: /^Save / }).click();
    await until(async () => (await rules()).find((r) => r.type === 'api_key.revoked').recipients.roles.includes('developer'), 'custom recipients saved');
    saved = (await rules()).find((r) => r.type === 'api_key.revoked');
    assert.equal(saved.recipients.actor, true);
    assert.equal(saved.recipients.users.length, 1);
    await owner.reload();
    assert.equal(await row.getByRole('combobox', { name: /: recipients$/ }).inputValue(), 'custom');

    // Reset to default: back to the seeded rule.
    await row.getByRole('button', { name: /^Reset .* to default$/ }).click();
    await owner.getByText(': back to the default.', { exact: false }).waitFor();
    await row.getByRole('button', { name: /^Reset .* to default$/ }).waitFor({ state: 'detached' });
    saved = (await rules()).find((r) => r.type === 'api_key.revoked');
    assert.equal(saved.is_default, true);
    assert.equal(await row.getByRole('checkbox', { name: /: Slack$/ }).isChecked(), saved.channels.includes('slack'));
  });

  test('the Slack card connects, shows only a masked URL, sends a test, and says when Slack refuses', async () => {
    const hook = '/slack/services/T0TEST/B0TEST/s3cretTail';
    await owner.goto(`/w/${wsId}/settings/notifications`);
    const card = owner.getByRole('region', { name: 'Slack' });
    await card.getByLabel('Slack webhook URL').fill(receiver.url(hook));
    await card.getByLabel('Channel').fill('#alerts');
    await card.getByRole('button', { name: 'Connect Slack' }).click();
    await card.getByText('Slack is connected.', { exact: false }).waitFor();
    const shownUrl = await card.getByTestId('slack-url').textContent();
    assert.ok(!shownUrl.includes('s3cretTail'), `masked: ${shownUrl}`);
    const api = await (await owner.request.get(`/v1/workspaces/${wsId}/slack`)).json();
    assert.equal(api.connected, true);
    assert.equal(shownUrl.trim(), api.webhook_url);
    await card.getByText('#alerts').waitFor();
    await card.getByText('Connected', { exact: true }).waitFor();
    await owner.reload();
    assert.ok(!(await owner.content()).includes('s3cretTail'), 'the page never carries the secret part');

    await card.getByRole('button', { name: 'Send test message' }).click();
    await card.getByText('Slack accepted the test message.', { exact: false }).waitFor();
    const [msg] = await receiver.waitFor(hook, 1);
    assert.equal(msg.slack_valid, true);
    await screenshots(owner, 'notification-slack');

    await receiver.plan(hook, [404]);
    await card.getByRole('button', { name: 'Send test message' }).click();
    await card.getByText('The test message failed:', { exact: false }).waitFor();

    await card.getByRole('button', { name: 'Disconnect' }).click();
    await owner.getByRole('dialog', { name: 'Disconnect Slack?' }).getByRole('button', { name: 'Disconnect' }).click();
    await card.getByRole('button', { name: 'Connect Slack' }).waitFor();
    assert.equal((await (await owner.request.get(`/v1/workspaces/${wsId}/slack`)).json()).connected, false);
  });

  test('the bell counts new members joining; a click reads one, "Mark all as read" clears them', async () => {
    // Two people join (member.joined: in-app to the admins by default).
    for (const [who, request] of [
      [DEV, dev.request],
      [QUINN, null],
    ]) {
      const invited = await owner.request.post(`/v1/workspaces/${wsId}/invitations`, { data: { email: who.email }, headers: { 'X-CSRF-Token': owner.csrf } });
      assert.equal(invited.status(), 201, await invited.text());
      const link = (await smtp.waitFor(who.email)).text.match(/https?:\/\/\S+\/accept-invite\?token=[A-Za-z0-9_-]+/)[0];
      const token = new URL(link).searchParams.get('token');
      const body = { name: who.name, password: PASSWORD };
      const status = request
        ? (await request.post(`/v1/invitations/${token}/accept`, { data: body })).status()
        : (await fetch(`${server.url}/v1/invitations/${token}/accept`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).status;
      assert.equal(status, 201);
    }

    // Dispatch is asynchronous: the bell looks once on load, then only every 30 s.
    await until(async () => {
      const titles = (await (await owner.request.get(`/v1/me/notifications?workspace=${wsId}&unread=true`)).json()).data.map((n) => n.title);
      return [DEV, QUINN].every((who) => titles.includes(`${who.name} joined the workspace`));
    }, "both arrivals in the owner's notifications");
    await owner.goto(`/w/${wsId}/settings/general`);
    const bell = owner.getByRole('button', { name: /^Notifications, \d+ unread$/ });
    await bell.waitFor();
    const unread = Number((await bell.getAttribute('aria-label')).match(/(\d+) unread/)[1]);
    assert.ok(unread >= 2, `unread ${unread}`);
    assert.equal((await owner.locator('.bell-count').textContent()).trim(), unread > 99 ? '99+' : String(unread));
    await bell.click();
    const panel = owner.getByRole('region', { name: 'Notifications' });
    // Each is a link to the page it is about (member.joined: the team).
    await panel.getByRole('link', { name: /^Unread: / }).first().waitFor();
    await panel.getByText(new RegExp(`${DEV.name}|${DEV.email}`)).first().waitFor();
    await screenshots(owner, 'notification-bell');
    // Unread ones are bold; a click reads one and goes to its page, closing the panel.
    assert.equal(await panel.locator('li.unread .bell-title').first().evaluate((el) => getComputedStyle(el).fontWeight), '700');
    await panel.getByRole('link', { name: /^Unread: / }).first().click();
    await owner.waitForURL(`**/w/${wsId}/settings/team`);
    await panel.waitFor({ state: 'detached' });
    await owner.getByRole('button', { name: `Notifications, ${unread - 1} unread` }).click();
    await panel.getByRole('button', { name: 'Mark all as read' }).click();
    await owner.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    assert.equal(await owner.locator('.bell-count').count(), 0);
    assert.equal(await panel.getByRole('link', { name: /^Unread: / }).count(), 0);
    // Escape closes the panel and gives the focus back to the bell.
    await owner.keyboard.press('Escape');
    await panel.waitFor({ state: 'detached' });
    assert.equal(await owner.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Notifications');
    await owner.reload();
    await owner.getByRole('button', { name: 'Notifications', exact: true }).waitFor();
    const me = await (await owner.request.get(`/v1/me/notifications?workspace=${wsId}&unread=true`)).json();
    assert.equal(me.unread_count, 0);
  });

  test('the bell looks again every 30 s while the tab is visible, and never while it is hidden', async () => {
    const page = watch(await ownerCtx.newPage());
    await page.clock.install();
    let polls = 0;
    page.on('request', (r) => {
      if (r.url().includes('/v1/me/notifications?')) polls++;
    });
    await page.goto(`/w/${wsId}/settings/account`);
    await page.getByRole('button', { name: /^Notifications/ }).waitFor();
    await until(() => polls === 1, 'the first look');
    await page.clock.runFor(30_500);
    await until(() => polls === 2, 'a look after 30 s');
    const setVisibility = (state) =>
      page.evaluate((s) => {
        Object.defineProperty(document, 'visibilityState', { value: s, configurable: true });
        document.dispatchEvent(new Event('visibilitychange'));
      }, state);
    await setVisibility('hidden');
    await page.clock.runFor(95_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(polls, 2, 'no polling while hidden');
    await setVisibility('visible');
    await until(() => polls === 3, 'a look as soon as the tab is visible again');
    await page.close();
  });

  test('a Developer sees neither Webhooks nor Notifications, but has the bell', async () => {
    await dev.goto(`/w/${wsId}/settings/team`);
    await dev.getByRole('heading', { name: 'Team Members' }).waitFor();
    await dev.getByRole('link', { name: 'Account' }).waitFor();
    assert.equal(await dev.getByRole('link', { name: 'Webhooks' }).count(), 0);
    assert.equal(await dev.getByRole('link', { name: 'Notifications', exact: true }).count(), 0);
    await dev.getByRole('button', { name: /^Notifications/ }).waitFor();
    await dev.goto(`/w/${wsId}/settings/webhooks`);
    await dev.getByText('Your role cannot manage webhooks', { exact: false }).waitFor();
    await dev.goto(`/w/${wsId}/settings/notifications`);
    await dev.getByText('Your role cannot manage notifications', { exact: false }).waitFor();
  });

  test('account notification preferences save and survive a reload', async () => {
    await dev.goto(`/w/${wsId}/settings/account`);
    const card = dev.getByRole('region', { name: 'Notification preferences' });
    const field = (l) => card.getByLabel(l, { exact: true });
    await field('Invite & access').waitFor();
    await until(async () => !(await field('Security').isDisabled()), 'the preferences to load');
    await field('Security').selectOption({ label: 'Daily digest' });
    await field('System').selectOption({ label: 'Off' });
    await card.getByRole('button', { name: 'Save preferences' }).click();
    await card.getByText('Notification preferences saved.').waitFor();
    await screenshots(dev, 'notification-preferences');
    await dev.reload();
    await until(async () => (await field('System').inputValue()) === 'off', 'the saved preferences after a reload');
    assert.equal(await field('Security').inputValue(), 'daily_digest');
    assert.equal(await field('Invite & access').inputValue(), 'immediate');
    const prefs = await (await dev.request.get('/v1/me/notification-preferences')).json();
    assert.deepEqual(prefs.email, { invite_access: 'immediate', security: 'daily_digest', system: 'off' });
  });

  test('no script errors or content-security-policy violations on these screens', () => {
    assert.deepEqual(scriptErrors, []);
  });
});
