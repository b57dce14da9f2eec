// The dashboard walked as a person would, in Debian's Chromium against the real binary:
// sign up, verify the email from the mail, create a workspace, invite by email (read from a
// real SMTP sink), accept in a second browser context, change the role, a member's view
// without admin controls, create a key and see its secret once, revoke it, the audit log,
// general settings, sign out, and reset a forgotten password from the mail; then single sign-on
// against a real pysaml2 identity provider (add, test, enable, sign in, enforce); then directory
// sync over SCIM (tokens, group mappings, badges, deactivation, reactivation).
// Screenshots at desktop and mobile widths go to tests/browser/output/ (or $BROWSER_TEST_OUTPUT).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Gatehouse, launchBrowser, SamlIdp, screenshots, SmtpSink, DESKTOP } from './harness.mjs';

const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a brand new passphrase';
// An 8×8 PNG, for the logo upload.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAGUlEQVR4nGNwtjildPkdJsmAVRRIMgxKHQBMsWUBcysgYgAAAABJRU5ErkJggg==',
  'base64',
);
// Each run has its own server and store, so plain addresses do (and read well in screenshots).
const ADMIN = { name: 'Ada Admin', email: 'ada@acme.example.com' };
const INVITEE = { name: 'Bob Builder', email: 'bob@acme.example.com' };

/** The TOTP code of `secret` (base32) at `ms` (epoch milliseconds), from Debian's oathtool. */
function totp(secret, ms = Date.now()) {
  const at = new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  return execFileSync('oathtool', ['--totp', '-b', '--now', at, secret], { encoding: 'utf8' }).trim();
}

/** Whether `locator` has the keyboard focus, waiting up to 5 s for a dialog's effect to move it. */
async function hasFocus(locator) {
  try {
    await locator.evaluate(
      (el) =>
        new Promise((resolve, reject) => {
          const until = Date.now() + 5000;
          const check = () => (el === document.activeElement ? resolve() : Date.now() > until ? reject() : requestAnimationFrame(check));
          check();
        }),
    );
    return true;
  } catch {
    return false;
  }
}

/** Waits until the current 30-second TOTP step has at least `margin` seconds left. */
async function clearOfStepBoundary(margin = 5) {
  while ((Date.now() / 1000) % 30 > 30 - margin) await new Promise((r) => setTimeout(r, 250));
}

/** RFC 4180 CSV (quoted fields may hold commas, quotes and line breaks) into rows of fields. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) row.push(field), rows.push(row);
  return rows;
}

describe('dashboard', { concurrency: false }, () => {
  let smtp, server, browser, adminCtx, memberCtx, admin, member;
  let wsUrl = ''; // http://…/w/ws_…
  const scriptErrors = [];

  before(async () => {
    smtp = await new SmtpSink().start();
    server = await new Gatehouse({ smtpUrl: smtp.url }).start();
    browser = await launchBrowser();
    // A fixed zone, so that the workspace form's prefill from Intl can be checked.
    adminCtx = await browser.newContext({ viewport: DESKTOP, timezoneId: 'Europe/Berlin', baseURL: server.url });
    // Layout shifts (Chromium's Layout Instability API), for the "no layout shift" check.
    await adminCtx.addInitScript(() => {
      window.__layoutShift = 0;
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (!e.hadRecentInput) window.__layoutShift += e.value;
      }).observe({ type: 'layout-shift', buffered: true });
    });
    memberCtx = await browser.newContext({ viewport: DESKTOP, baseURL: server.url });
    admin = await adminCtx.newPage();
    member = await memberCtx.newPage();
    for (const p of [admin, member]) {
      p.setDefaultTimeout(30_000);
      // Script errors and CSP violations fail the walk (refused API calls are expected).
      p.on('pageerror', (e) => scriptErrors.push(String(e)));
      p.on('console', (m) => {
        if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) scriptErrors.push(m.text());
      });
    }
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    smtp?.stop();
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('serves the app at / and sends a newcomer to log in', async () => {
    const res = await admin.goto('/');
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/html/);
    await admin.waitForURL('**/login');
    await admin.getByRole('heading', { name: 'Log in' }).waitFor();
    // Keyboard focus is visible.
    await admin.keyboard.press('Tab');
    await admin.keyboard.press('Tab');
    const focused = await admin.evaluate(() => {
      const el = document.activeElement;
      const style = getComputedStyle(el);
      return { tag: el.tagName, outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    });
    assert.notEqual(focused.tag, 'BODY');
    assert.ok(focused.outline !== 'none' && focused.width >= 2, JSON.stringify(focused));
  });

  test('signs up and creates a workspace with the browser time zone', async () => {
    await admin.getByRole('link', { name: 'Create an account' }).click();
    await admin.getByRole('heading', { name: 'Create your account' }).waitFor();
    // A short password is refused next to its field before anything is sent.
    await admin.getByLabel('Full name').fill(ADMIN.name);
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill('short');
    await admin.getByRole('button', { name: 'Sign up' }).click();
    await admin.getByText('Use at least 12 characters.').waitFor();
    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Sign up' }).click();

    await admin.waitForURL('**/workspaces/new');
    assert.equal(await admin.getByLabel('Timezone').inputValue(), 'Europe/Berlin');
    await admin.getByLabel('Workspace name').fill('Acme Corp');
    await admin.getByRole('button', { name: 'Create workspace' }).click();
    await admin.waitForURL(/\/w\/ws_[^/]+\/settings\/team$/);
    wsUrl = admin.url().replace(/\/settings\/team$/, '');
    await admin.getByRole('heading', { name: 'Team Members' }).waitFor();
    await admin.getByText('1 member', { exact: false }).waitFor();
    await admin.getByRole('cell', { name: /Ada Admin \(You\)/ }).waitFor();
  });

  test('asks to verify the email, mails a new link, and verifies from the mail', async () => {
    const notice = admin.getByRole('region', { name: 'Verify your email address' });
    await notice.waitFor();
    const verifyLink = (m) => m.text.match(/https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]+/)?.[0];
    const first = verifyLink(await smtp.waitFor(ADMIN.email, { subject: 'Verify your email address' }));
    assert.ok(first?.startsWith(server.url), first);
    await notice.getByRole('button', { name: 'Resend verification email' }).click();
    await notice.getByText(`We sent a new link to ${ADMIN.email}.`).waitFor();
    await screenshots(admin, 'verify-notice');
    const second = verifyLink(await smtp.waitFor(ADMIN.email, { subject: 'Verify your email address', count: 2 }));
    assert.notEqual(second, first);

    await admin.goto(second);
    await admin.getByRole('heading', { name: 'Email verified' }).waitFor();
    await admin.getByText(`${ADMIN.email} is verified.`, { exact: false }).waitFor();
    await screenshots(admin, 'verify-email');
    // Using one link retires the others.
    await admin.goto(first);
    await admin.getByText('This link has been used already.').waitFor();
    await admin.goto(wsUrl + '/settings/team');
    await admin.getByRole('heading', { name: 'Team Members' }).waitFor();
    assert.equal(await notice.count(), 0, 'the notice is gone');
    assert.equal((await (await admin.request.get('/v1/me')).json()).email_verified, true);
  });

  test('invites by email with real-time validation, in a dialog that traps focus', async () => {
    await admin.getByRole('button', { name: 'Invite Member' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Invite Member' });
    await dialog.waitFor();
    // Escape closes the dialog and focus returns to the button that opened it.
    await admin.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Invite Member');

    await admin.getByRole('button', { name: 'Invite Member' }).click();
    await dialog.waitFor();
    const email = dialog.getByLabel('Email address');
    assert.ok(await email.evaluate((el) => el === document.activeElement), 'focus starts in the email field');
    await email.fill('not-an-email');
    await dialog.getByText('Enter a valid email address').waitFor();
    assert.ok(await dialog.getByRole('button', { name: 'Send Invitation' }).isDisabled());
    // Tab cycles inside the dialog.
    for (let i = 0; i < 8; i++) {
      await admin.keyboard.press('Tab');
      assert.ok(await admin.evaluate(() => !!document.activeElement?.closest('[role=dialog]')), 'focus stays in the dialog');
    }
    // The server's own refusal appears next to the field too: inviting oneself.
    await email.fill(ADMIN.email);
    await dialog.getByRole('button', { name: 'Send Invitation' }).click();
    await dialog.locator('#invite-email-msg.field-error').waitFor();

    await email.fill(INVITEE.email);
    await dialog.getByRole('button', { name: 'Send Invitation' }).click();
    await dialog.waitFor({ state: 'detached' });
    await admin.getByText(`Invitation sent to ${INVITEE.email}. You can change their role after they join.`).waitFor();
    const pending = admin.getByRole('region', { name: 'Pending Invitations' });
    await pending.getByRole('cell', { name: INVITEE.email, exact: true }).waitFor();

    // Bulk invitations from a CSV file: one bad row never blocks the others.
    await admin.getByRole('button', { name: 'Upload CSV' }).click();
    const bulk = admin.getByRole('dialog', { name: 'Invite from a CSV file' });
    const carol = 'carol@acme.example.com';
    await bulk.getByLabel('CSV file').setInputFiles({
      name: 'team.csv',
      mimeType: 'text/csv',
      buffer: Buffer.from(`email,role,projects\n${carol},Viewer,all\nnot-an-email,Viewer,all\n`),
    });
    await bulk.getByText('1 invited, 1 failed').waitFor();
    await bulk.getByRole('cell', { name: carol }).waitFor();
    await screenshots(admin, 'team-bulk');
    await admin.keyboard.press('Escape');
    await pending.getByRole('cell', { name: carol, exact: true }).waitFor();
    await screenshots(admin, 'team-pending');
    // Revoking takes it off the pending list.
    await pending.getByRole('button', { name: `Revoke invitation to ${carol}` }).click();
    await admin.getByText(`Invitation to ${carol} revoked.`).waitFor();
    await pending.getByRole('cell', { name: carol, exact: true }).waitFor({ state: 'detached' });
  });

  test('the invitee accepts from the mail in a second browser', async () => {
    const mail = await smtp.waitFor(INVITEE.email);
    const link = mail.text.match(/https?:\/\/\S+\/accept-invite\?token=[A-Za-z0-9_-]+/)?.[0];
    assert.ok(link, `an invitation link in: ${mail.text}`);
    assert.ok(link.startsWith(server.url), link);

    await member.goto(link);
    await member.getByText(`${ADMIN.name} invited ${INVITEE.email} to join Acme Corp`, { exact: false }).waitFor();
    await screenshots(member, 'accept-invite');
    await member.getByLabel('Full name').fill(INVITEE.name);
    await member.getByLabel('Password').fill(PASSWORD);
    await member.getByRole('button', { name: 'Create account and join' }).click();
    await member.waitForURL(/\/w\/ws_[^/]+\/settings\/team$/);
    await member.getByRole('cell', { name: /Bob Builder \(You\)/ }).waitFor();
  });

  test('the admin sees the new member and changes the role', async () => {
    await admin.reload();
    const active = admin.getByRole('region', { name: 'Active Members' });
    const role = active.getByLabel('Role of Bob Builder');
    await role.waitFor();
    assert.equal(await role.inputValue(), 'developer', 'invitees join with the default role');
    await admin.getByText('No pending invitations.').waitFor(); // accepted, and the bulk one revoked
    await admin.getByText('2 members', { exact: false }).waitFor();
    await role.selectOption({ label: 'Viewer' });
    await admin.getByText('Bob Builder is now Viewer.').waitFor();
    await admin.reload();
    assert.equal(await active.getByLabel('Role of Bob Builder').inputValue(), 'viewer');
    await screenshots(admin, 'team-members');
  });

  test("a member's view has no admin controls", async () => {
    await member.reload();
    await member.getByRole('heading', { name: 'Team Members' }).waitFor();
    await member.getByRole('cell', { name: /Ada Admin/ }).waitFor();
    await member.getByRole('cell', { name: /Bob Builder \(You\)/ }).waitFor();
    const absent = [
      member.getByRole('button', { name: 'Invite Member' }),
      member.getByRole('button', { name: 'Upload CSV' }),
      member.getByRole('heading', { name: 'Pending Invitations' }),
      member.getByRole('combobox', { name: /^Role of/ }),
      member.getByRole('button', { name: /^Remove/ }),
      member.getByRole('link', { name: 'API Keys' }),
      member.getByRole('link', { name: 'Audit Log' }),
    ];
    for (const l of absent) assert.equal(await l.count(), 0, `absent for a member: ${l}`);
    await screenshots(member, 'member-team');

    await member.getByRole('link', { name: 'General' }).click();
    await member.getByRole('heading', { name: 'General' }).waitFor();
    assert.ok(await member.getByLabel('Workspace Name').evaluate((el) => el.readOnly));
    for (const l of [
      member.getByRole('button', { name: 'Save' }),
      member.getByRole('heading', { name: 'Danger Zone' }),
      member.getByRole('heading', { name: 'API Keys' }),
      member.getByRole('button', { name: 'Choose Image' }),
      member.getByRole('heading', { name: 'IP Allowlisting' }),
    ]) {
      assert.equal(await l.count(), 0, `absent for a member: ${l}`);
    }
    await screenshots(member, 'member-general');
  });

  test('creates an API key, shows the secret once, and revokes it', async () => {
    await admin.getByRole('link', { name: 'API Keys' }).click();
    await admin.getByRole('heading', { name: 'API Keys', exact: true }).waitFor();
    await admin.getByRole('button', { name: 'Create API Key' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Create API Key' });
    // An invalid IP range is refused by the API and shown next to its field.
    await dialog.getByLabel('Name').fill('Production API');
    await dialog.getByLabel('Allowed endpoints').fill('/v1/chat/*\n/v1/metrics/*');
    await dialog.getByLabel('Requests per minute').fill('300');
    await dialog.getByLabel('IP allowlist').fill('not-a-cidr');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    await dialog.locator('#ta-ip-allowlist-msg.field-error').waitFor();
    await dialog.getByLabel('IP allowlist').fill('');
    await dialog.getByRole('button', { name: 'Create key' }).click();

    const shown = admin.getByRole('dialog', { name: 'API key created' });
    await shown.getByText('It will not be shown again').waitFor();
    const secret = await shown.getByLabel('Secret key for Production API').inputValue();
    assert.match(secret, /^sk_live_/);
    await screenshots(admin, 'api-key-created');
    const verify = async (key = secret) =>
      (await admin.request.post('/v1/keys/verify', { data: { key, endpoint: '/v1/chat/completions' } })).json();
    assert.equal((await verify()).code, 'VALID');

    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    const row = admin.getByRole('row', { name: /Production API/ });
    await row.waitFor();
    assert.match(await row.textContent(), /You/);
    await admin.reload();
    await admin.getByRole('row', { name: /Production API/ }).waitFor();
    assert.ok(!(await admin.content()).includes(secret), 'the secret is never shown again');
    await screenshots(admin, 'api-keys');

    // Rotation shows the new secret once; with no grace period the old one stops at once.
    await admin.getByRole('button', { name: 'Rotate Production API' }).click();
    await admin.getByRole('dialog', { name: 'Rotate Production API?' }).getByRole('button', { name: 'Rotate key' }).click();
    const rotated = admin.getByRole('dialog', { name: 'API key rotated' });
    const newSecret = await rotated.getByLabel('Secret key for Production API').inputValue();
    assert.match(newSecret, /^sk_live_/);
    assert.notEqual(newSecret, secret);
    assert.equal((await verify()).valid, false, 'the old secret stops working');
    assert.equal((await verify(newSecret)).code, 'VALID');
    await rotated.getByRole('button', { name: 'I have copied it' }).click();

    await admin.getByRole('button', { name: 'Revoke Production API' }).click();
    const confirm = admin.getByRole('dialog', { name: 'Revoke Production API?' });
    await confirm.getByText('This cannot be undone.', { exact: false }).waitFor();
    await confirm.getByRole('button', { name: 'Revoke key' }).click();
    await admin.getByText('Production API was revoked.', { exact: false }).waitFor();
    await admin.getByRole('row', { name: /Production API/ }).waitFor({ state: 'detached' });
    assert.equal((await verify(newSecret)).code, 'REVOKED');
  });

  test('the audit log lists what happened, filters by action and exports CSV', async () => {
    await admin.getByRole('link', { name: 'Audit Log' }).click();
    await admin.getByRole('heading', { name: 'Audit Log' }).waitFor();
    const table = admin.locator('table.audit-table');
    await table.getByText('member.invited').first().waitFor();
    await table.getByText('api_key.revoked').first().waitFor();
    await screenshots(admin, 'audit-log');

    const asked = admin.waitForRequest((r) => r.url().includes('/audit-logs?') && r.url().includes('action=api_key.*'));
    await admin.getByLabel('Action').fill('api_key.*');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    await asked;
    await table.getByText('api_key.created').first().waitFor();

    const link = admin.getByRole('link', { name: 'Export CSV' });
    const href = await link.getAttribute('href');
    assert.match(href, /\/audit-logs\/export\?action=api_key\.\*/);
    const res = await admin.request.get(href);
    assert.equal(res.status(), 200);
    assert.match(res.headers()['content-type'], /^text\/csv/);

    // The file the browser downloads from the link: the header row, then exactly the rows the
    // list answers for the same filter, newest first.
    const [download] = await Promise.all([admin.waitForEvent('download'), link.click()]);
    assert.equal(await download.failure(), null);
    const rows = parseCsv(fs.readFileSync(await download.path(), 'utf8'));
    assert.deepEqual(rows[0], [
      'id', 'occurred_at', 'action', 'actor_type', 'actor_id', 'actor_name', 'actor_email', 'target_type',
      'target_id', 'target_name', 'project_id', 'ip', 'user_agent', 'details',
    ]);
    const data = rows.slice(1);
    assert.ok(data.length >= 4, `created, rotated, revoked…: ${JSON.stringify(data)}`);
    for (const r of data) {
      assert.equal(r.length, 14, JSON.stringify(r));
      assert.match(r[2], /^api_key\./, 'only the filtered actions');
    }
    const actions = data.map((r) => r[2]);
    for (const a of ['api_key.created', 'api_key.rotated', 'api_key.revoked']) assert.ok(actions.includes(a), `${a} in ${actions}`);
    const listed = await (await admin.request.get(href.replace('/audit-logs/export?', '/audit-logs?') + '&limit=100')).json();
    assert.deepEqual(data.map((r) => r[0]), listed.data.map((e) => e.id), 'the same events as the filtered list');
    const created = data[actions.indexOf('api_key.created')];
    assert.equal(created[5], ADMIN.name);
    assert.equal(created[6], ADMIN.email);
    assert.equal(created[9], 'Production API');
    assert.ok(!data.some((r) => r[2] === 'member.invited'), 'other actions are filtered out');
  });

  test('general settings: rename, theme, publishable key, and deleting a second workspace', async () => {
    await admin.getByRole('link', { name: 'General' }).click();
    const name = admin.getByLabel('Workspace Name');
    const save = admin.getByRole('region', { name: 'Workspace' }).getByRole('button', { name: 'Save' });
    await name.waitFor();
    assert.ok(await save.isDisabled(), 'Save is disabled until the name changes');
    await name.fill('Acme Corporation');
    assert.ok(await save.isEnabled());
    await save.click();
    await admin.getByText('Workspace name updated successfully').waitFor();
    assert.ok(await save.isDisabled());
    await admin.locator('.context-name', { hasText: 'Acme Corporation' }).waitFor();

    // The logo: checked in the browser before upload, previewed, then served by the API.
    const chooser = admin.getByLabel('Choose Image');
    await chooser.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
    await admin.getByText('Choose a PNG, JPG or WebP image.').waitFor();
    await chooser.setInputFiles({ name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(2 * 1024 * 1024 + 1) });
    await admin.getByText('The image is larger than 2 MB.').waitFor();
    await chooser.setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: PNG });
    await admin.getByRole('img', { name: 'Workspace logo preview' }).waitFor();
    await admin.getByRole('button', { name: 'Upload', exact: true }).click();
    await admin.getByText('Logo uploaded.').waitFor();
    await admin.locator('.context-banner img[src*="/logo"]').waitFor();

    await admin.getByText('Database Region').waitFor();
    await admin.getByText('Set at workspace creation.').waitFor();
    const pk = await admin.getByLabel(/Publishable key/).inputValue();
    assert.match(pk, /^pk_live_/);

    const saved = admin.waitForResponse((r) => r.url().endsWith('/v1/me') && r.request().method() === 'PATCH');
    await admin.getByLabel('Dark').check();
    assert.equal(await admin.evaluate(() => document.documentElement.dataset.theme), 'dark', 'applied at once');
    assert.equal((await saved).status(), 200);
    await admin.reload();
    await admin.getByLabel('Dark').waitFor();
    assert.equal(await admin.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the theme is saved per user');
    await screenshots(admin, 'general-dark');
    await admin.getByLabel('Light').check();

    // The switcher creates a second workspace; its Danger Zone deletes it after typing DELETE.
    await admin.locator('#ws-switcher').selectOption({ label: '+ Create workspace…' });
    await admin.waitForURL('**/workspaces/new');
    await admin.getByLabel('Workspace name').fill('Scratch Space');
    await admin.getByRole('button', { name: 'Create workspace' }).click();
    await admin.waitForURL(/\/settings\/team$/);
    await admin.getByRole('link', { name: 'General' }).click();
    await admin.getByRole('button', { name: 'Delete Workspace' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete workspace?' });
    const del = dialog.getByRole('button', { name: 'Delete workspace' });
    assert.ok(await del.isDisabled());
    await dialog.getByLabel('Type DELETE to confirm').fill('delete');
    assert.ok(await del.isDisabled(), 'only DELETE in capitals confirms');
    await dialog.getByLabel('Type DELETE to confirm').fill('DELETE');
    await del.click();
    await admin.waitForURL((u) => u.href.startsWith(wsUrl));
    const options = await admin.locator('#ws-switcher').locator('option').allTextContents();
    assert.deepEqual(options, ['Acme Corporation', '+ Create workspace…']);
  });

  test('IP allowlisting: add ranges, the lockout guard, block all other IPs, remove', async () => {
    await admin.getByRole('link', { name: 'General' }).click();
    const card = admin.getByRole('region', { name: 'IP Allowlisting' });
    await card.getByText('No ranges yet.').waitFor();
    const add = async (cidr, label) => {
      await card.getByLabel('Address or range').fill(cidr);
      await card.getByLabel('Label (optional)').fill(label);
      await card.getByRole('button', { name: 'Add', exact: true }).click();
    };
    await add('203.0.113.0/24', 'Office');
    await card.getByRole('checkbox', { name: 'Block all other IPs' }).check();
    await card.getByRole('button', { name: 'Save allowlist' }).click();
    // The browser talks from 127.0.0.1, which the list leaves out: the server refuses it.
    await card.getByText(/127\.0\.0\.1.*lock you out/).waitFor();
    await add('127.0.0.1', 'This machine');
    await card.getByRole('button', { name: 'Save allowlist' }).click();
    await card.getByText('IP allowlist saved.').waitFor();
    await card.getByRole('cell', { name: '127.0.0.1/32', exact: true }).waitFor(); // canonical form
    await screenshots(admin, 'general-ip-allowlist');
    await admin.reload();
    await card.getByRole('cell', { name: '203.0.113.0/24', exact: true }).waitFor();
    assert.ok(await card.getByRole('checkbox', { name: 'Block all other IPs' }).isChecked(), 'saved');
    await card.getByRole('checkbox', { name: 'Block all other IPs' }).uncheck();
    await card.getByRole('button', { name: 'Remove 203.0.113.0/24' }).click();
    await card.getByRole('button', { name: 'Remove 127.0.0.1/32' }).click();
    await card.getByRole('button', { name: 'Save allowlist' }).click();
    await card.getByText('No ranges yet.').waitFor();
    await card.getByText('IP allowlist saved.').waitFor();
  });

  test('account, projects and billing screens', async () => {
    await admin.getByRole('link', { name: 'Account' }).click();
    await admin.getByText('owner at Acme Corporation').waitFor();
    await admin.getByText('Not Enabled').waitFor();
    await admin.getByText('1 device').waitFor();
    await screenshots(admin, 'account');
    // Another sign-in elsewhere shows up as a device, and "sign out all" ends it.
    const elsewhere = await fetch(server.url + '/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0' },
      body: JSON.stringify({ email: ADMIN.email, password: PASSWORD }),
    });
    assert.equal(elsewhere.status, 200);
    await admin.reload();
    await admin.getByText('2 devices').waitFor();
    await admin.getByRole('button', { name: 'Sign out all other sessions' }).click();
    await admin.getByText('1 device').waitFor();

    await admin.getByRole('link', { name: 'Projects' }).click();
    await admin.getByRole('button', { name: 'Create Project' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Create Project' });
    await dialog.getByLabel('Project name').fill('Production');
    await dialog.getByRole('button', { name: 'Create project' }).click();
    await admin.getByText('Project Production created.').waitFor();
    await admin.getByRole('button', { name: 'Members of Production' }).click();
    const members = admin.getByRole('dialog', { name: 'Production members' });
    await members.getByLabel('Add member').selectOption({ label: INVITEE.name });
    await members.getByLabel('Project role').selectOption({ label: 'Developer' });
    await members.getByRole('button', { name: 'Add' }).click();
    await members.getByLabel('Project role of Bob Builder').waitFor();
    assert.equal(await members.getByLabel('Project role of Bob Builder').inputValue(), 'developer');
    assert.equal(await members.getByLabel('Add member').inputValue(), '', 'the picker resets after adding');
    await screenshots(admin, 'projects');
    await admin.keyboard.press('Escape');

    // An invitation can add the invitee to projects.
    await admin.getByRole('link', { name: 'Team Members' }).click();
    await admin.getByRole('button', { name: 'Invite Member' }).click();
    const invite = admin.getByRole('dialog', { name: 'Invite Member' });
    await invite.getByLabel('Email address').fill('dan@acme.example.com');
    await invite.getByLabel('Production').check();
    await invite.getByRole('button', { name: 'Send Invitation' }).click();
    await admin.getByText('Invitation sent to dan@acme.example.com.', { exact: false }).waitFor();
    const wsId = wsUrl.split('/').pop();
    const pendingInvites = await (await admin.request.get(`/v1/workspaces/${wsId}/invitations`)).json();
    const dan = pendingInvites.data.find((i) => i.email === 'dan@acme.example.com');
    assert.equal(dan.projects.length, 1, JSON.stringify(dan));

    await admin.getByRole('link', { name: 'Usage & Billing' }).click();
    await admin.getByText('Current plan').waitFor();
    await admin.getByRole('progressbar').waitFor();
    await screenshots(admin, 'billing');
  });

  test('screens load without noticeable layout shift', async () => {
    const screens = [
      ['settings/team', admin.getByRole('cell', { name: /Ada Admin \(You\)/ })],
      ['settings/general', admin.getByLabel(/Publishable key/)],
      ['api-keys', admin.getByText('No API keys yet.')],
      ['audit-log', admin.getByText('workspace.created')],
      ['settings/account', admin.getByText('1 device')],
      ['projects', admin.getByRole('cell', { name: 'Production', exact: true })],
    ];
    for (const [path, ready] of screens) {
      await admin.goto(`${wsUrl}/${path}`);
      await ready.waitFor();
      const shift = await admin.evaluate(() => window.__layoutShift);
      // 0.1 is the bound of a "good" cumulative layout shift in Web Vitals.
      assert.ok(shift < 0.1, `layout shift ${shift.toFixed(3)} on ${path}`);
    }
  });

  test('navigation is a horizontal bar on a phone', async () => {
    await admin.setViewportSize({ width: 390, height: 844 });
    await admin.getByRole('link', { name: 'Team Members' }).click();
    const nav = admin.getByRole('navigation', { name: 'Settings' });
    const direction = await nav.locator('ul').first().evaluate((el) => getComputedStyle(el).flexDirection);
    assert.equal(direction, 'row');
    // Loaded on a phone, the strip scrolls to show the current section.
    await admin.goto(`${wsUrl}/audit-log`);
    const current = nav.locator('[aria-current=page]');
    await current.waitFor();
    const [navBox, linkBox] = [await nav.boundingBox(), await current.boundingBox()];
    assert.ok(linkBox.x >= navBox.x && linkBox.x + linkBox.width <= navBox.x + navBox.width, 'current section in view');
    await screenshots(admin, 'audit-log-phone');
    await admin.setViewportSize(DESKTOP);
    assert.equal(await nav.locator('ul').first().evaluate((el) => getComputedStyle(el).flexDirection), 'column');
  });

  test('two-step verification: enable with a QR code, recovery codes once, log in with one, disable', async () => {
    await admin.goto(`${wsUrl}/settings/account`);
    const security = admin.getByRole('region', { name: 'Security Overview' });
    await security.getByText('Not Enabled', { exact: true }).waitFor();

    // The dialog closes on Escape and gives the focus back to the button that opened it.
    await security.getByRole('button', { name: 'Enable' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Enable two-step verification' });
    await dialog.waitFor();
    await admin.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(await admin.evaluate(() => document.activeElement?.textContent), 'Enable');

    await security.getByRole('button', { name: 'Enable' }).click();
    await dialog.waitFor();
    const codeField = dialog.getByLabel('Verification code');
    assert.ok(await hasFocus(codeField), 'focus starts in the code field');
    for (let i = 0; i < 8; i++) {
      await admin.keyboard.press('Tab');
      assert.ok(await admin.evaluate(() => !!document.activeElement?.closest('[role=dialog]')), 'focus stays in the dialog');
    }
    // The QR code is an image of the SVG (never markup in the page), and it renders.
    const qr = dialog.getByRole('img', { name: /QR code/ });
    assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
    assert.ok(await qr.evaluate((img) => img.complete && img.naturalWidth > 0), 'the QR code renders');
    assert.equal(await dialog.locator('svg').count(), 0);
    const secret = (await dialog.getByLabel('Or enter this key in the app').inputValue()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{32}$/);

    // Not six digits: refused in the browser. A wrong code: the API's refusal, next to the field.
    await codeField.fill('12345');
    await dialog.getByRole('button', { name: 'Verify and enable' }).click();
    await dialog.getByText('Enter the 6-digit code from your authenticator app.').waitFor();
    assert.equal(await codeField.getAttribute('aria-invalid'), 'true');
    await codeField.fill(totp(secret, Date.now() - 3600_000));
    await dialog.getByRole('button', { name: 'Verify and enable' }).click();
    await dialog.locator('.field-error', { hasText: 'That code is not valid' }).waitFor();
    await screenshots(admin, 'mfa-enable');

    await clearOfStepBoundary();
    const enrolledAt = Date.now();
    await codeField.fill(totp(secret, enrolledAt));
    await dialog.getByRole('button', { name: 'Verify and enable' }).click();

    // The recovery codes, once, with a warning, Copy and Download.
    const saved = admin.getByRole('dialog', { name: 'Save your recovery codes' });
    await saved.getByText('They will not be shown again', { exact: false }).waitFor();
    const codes = (await saved.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem').allTextContents()).map((c) => c.trim());
    assert.equal(codes.length, 10);
    assert.equal(new Set(codes).size, 10);
    for (const c of codes) assert.match(c, /^[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}$/);
    await security.getByText('Enabled', { exact: true }).waitFor();
    await adminCtx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    await saved.getByRole('button', { name: 'Copy recovery codes' }).click();
    await saved.getByRole('button', { name: 'Copy recovery codes' }).getByText('Copied').waitFor();
    assert.equal((await admin.evaluate(() => navigator.clipboard.readText())).trim(), codes.join('\n'));
    const [download] = await Promise.all([admin.waitForEvent('download'), saved.getByRole('link', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), 'gatehouse-recovery-codes.txt');
    assert.deepEqual(fs.readFileSync(await download.path(), 'utf8').trim().split('\n'), codes);
    await screenshots(admin, 'mfa-recovery-codes');
    await saved.getByRole('button', { name: 'I have saved them' }).click();
    await saved.waitFor({ state: 'detached' });
    await admin.getByText('Two-step verification is on.').waitFor();
    await admin.reload();
    await security.getByText('Enabled', { exact: true }).waitFor();
    await security.getByRole('button', { name: 'Disable' }).waitFor();
    assert.ok(!(await admin.content()).includes(codes[0]), 'the recovery codes are never shown again');
    await screenshots(admin, 'account-mfa-enabled');

    // With two-step verification on, the owner can require it for the whole workspace.
    const wsPathNow = '/v1/workspaces/' + wsUrl.split('/').pop();
    await admin.goto(`${wsUrl}/settings/general`);
    const requireMfa = admin.getByRole('switch', { name: 'Require two-factor authentication' });
    assert.equal(await requireMfa.isChecked(), false);
    const patched = () => admin.waitForResponse((r) => r.url().endsWith(wsPathNow) && r.request().method() === 'PATCH');
    // click, not check(): the answer of the PATCH is what counts, whatever the page re-renders.
    await admin.waitForLoadState('networkidle');
    const [turnedOn] = await Promise.all([patched(), requireMfa.click()]);
    assert.equal(turnedOn.status(), 200);
    assert.equal((await turnedOn.json()).require_mfa, true);
    await admin.getByText('Members without two-step verification cannot act', { exact: false }).waitFor();
    await screenshots(admin, 'general-require-mfa');
    assert.equal((await (await admin.request.get(wsPathNow)).json()).require_mfa, true);
    await admin.reload();
    await admin.waitForLoadState('networkidle');
    assert.equal(await requireMfa.isChecked(), true, 'the setting survives a reload');
    const [turnedOff] = await Promise.all([patched(), requireMfa.click()]);
    assert.equal(turnedOff.status(), 200);
    assert.equal((await turnedOff.json()).require_mfa, false);
    assert.equal((await (await admin.request.get(wsPathNow)).json()).require_mfa, false);
    await admin.goto(`${wsUrl}/settings/account`);

    // Logging in now asks for a code; a used one is refused next to the field; a recovery code works.
    await admin.getByRole('button', { name: 'Log out' }).click();
    await admin.waitForURL('**/login');
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Log in' }).click();
    const loginCode = admin.getByLabel('Authentication code');
    await loginCode.waitFor();
    assert.ok(await hasFocus(loginCode), 'focus moves to the code field');
    await screenshots(admin, 'login-mfa');
    await loginCode.fill(totp(secret, enrolledAt)); // the code that confirmed enrolment: never accepted twice
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.locator('.field-error', { hasText: 'not valid or was already used' }).waitFor();
    assert.equal(await loginCode.getAttribute('aria-invalid'), 'true');
    await loginCode.fill(codes[0]);
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.waitForURL((u) => !u.pathname.startsWith('/login'));

    // Disabling asks for a code: the recovery code just used is refused, a fresh TOTP code works.
    await admin.goto(`${wsUrl}/settings/account`);
    await security.getByRole('button', { name: 'Disable' }).click();
    const off = admin.getByRole('dialog', { name: 'Disable two-step verification?' });
    const offCode = off.getByLabel('Authentication code');
    assert.ok(await hasFocus(offCode), 'focus starts in the code field');
    await offCode.fill(codes[0]);
    await off.getByRole('button', { name: 'Disable two-step verification' }).click();
    await off.locator('.field-error', { hasText: 'not valid or was already used' }).waitFor();
    await screenshots(admin, 'mfa-disable');
    // The next 30-second step: unused, and inside the one-step window the server allows.
    await offCode.fill(totp(secret, Date.now() + 30_000));
    await off.getByRole('button', { name: 'Disable two-step verification' }).click();
    await off.waitFor({ state: 'detached' });
    await admin.getByText('Two-step verification is off.').waitFor();
    await security.getByText('Not Enabled', { exact: true }).waitFor();
    assert.equal((await (await admin.request.get('/v1/me')).json()).mfa_enabled, false);
  });

  test('changes the password: a wrong current one is refused, other sessions end, the new one works', async () => {
    const login = (password) =>
      fetch(server.url + '/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: ADMIN.email, password }),
      });
    const elsewhere = await login(PASSWORD);
    assert.equal(elsewhere.status, 200);
    const otherCookie = elsewhere.headers.get('set-cookie').split(';')[0];
    await admin.goto(`${wsUrl}/settings/account`);
    const card = admin.getByRole('region', { name: 'Change password' });
    await card.getByLabel('Current password').fill('not my password');
    await card.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await card.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    await card.getByRole('button', { name: 'Change password' }).click();
    await card.locator('.field-error', { hasText: 'The current password is incorrect.' }).waitFor();
    await card.getByLabel('Current password').fill(PASSWORD);
    await card.getByRole('button', { name: 'Change password' }).click();
    await card.getByText(/^Password changed\. \d+ other sessions? (was|were) signed out\.$/).waitFor();
    await screenshots(admin, 'account-password-changed');
    assert.equal((await fetch(server.url + '/v1/me', { headers: { Cookie: otherCookie } })).status, 401, 'the other session ended');
    assert.equal((await admin.request.get('/v1/me')).status(), 200, 'this session goes on');
    assert.equal((await login(PASSWORD)).status, 401);
    assert.equal((await login(NEW_PASSWORD)).status, 200);
    // And back, for the tests that follow.
    await card.getByLabel('Current password').fill(NEW_PASSWORD);
    await card.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await card.getByLabel('Repeat new password').fill(PASSWORD);
    await card.getByRole('button', { name: 'Change password' }).click();
    await card.getByText('1 other session was signed out.', { exact: false }).waitFor();
    // The Danger Zone asks for the password and DELETE; an owner is told to hand over first.
    await admin.getByRole('button', { name: 'Delete Account' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Delete your account?' });
    await dialog.getByLabel('Password').fill(PASSWORD);
    await dialog.getByLabel('Type DELETE to confirm').fill('DELETE');
    await dialog.getByRole('button', { name: 'Delete account' }).click();
    await dialog.getByText('Transfer ownership or delete', { exact: false }).waitFor();
    await screenshots(admin, 'account-delete-refused');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await admin.request.get('/v1/me')).status(), 200);
  });

  test('no script errors or content-security-policy violations on any screen', () => {
    assert.deepEqual(scriptErrors, []);
  });

  test('logs out and back in', async () => {
    await admin.getByRole('button', { name: 'Log out' }).click();
    await admin.waitForURL('**/login');
    await admin.goto(wsUrl + '/settings/team');
    await admin.waitForURL(/\/login\?next=/);
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByLabel('Password').fill('wrong password here');
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.getByRole('alert').waitFor();
    await admin.getByLabel('Password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.waitForURL(wsUrl + '/settings/team');
    await admin.getByRole('heading', { name: 'Team Members' }).waitFor();
  });

  test('resets a forgotten password from the mail, which ends every session', async () => {
    const login = (password) =>
      fetch(server.url + '/v1/auth/login', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ email: ADMIN.email, password }),
      });
    const elsewhere = (await login(PASSWORD)).headers.get('set-cookie').split(';')[0];
    await admin.getByRole('button', { name: 'Log out' }).click();
    await admin.waitForURL('**/login');
    await admin.getByLabel('Email').fill(ADMIN.email);
    await admin.getByRole('link', { name: 'Forgot password?' }).click();
    await admin.getByRole('heading', { name: 'Reset your password' }).waitFor();
    assert.equal(await admin.getByLabel('Email').inputValue(), ADMIN.email, 'the address carries over');
    await screenshots(admin, 'forgot-password');
    await admin.getByRole('button', { name: 'Send reset link' }).click();
    await admin.getByText(`If an account exists for ${ADMIN.email}, we sent a link`, { exact: false }).waitFor();
    await screenshots(admin, 'forgot-password-sent');
    // An address without an account gets the very same answer (and no mail).
    const ask = async (email) => {
      const r = await admin.request.post('/v1/auth/password-reset', { data: { email } });
      return [r.status(), await r.text()];
    };
    assert.deepEqual(await ask('nobody@acme.example.com'), await ask(ADMIN.email));

    const mail = await smtp.waitFor(ADMIN.email, { subject: 'Reset your Gatehouse password' });
    const link = mail.text.match(/https?:\/\/\S+\/reset-password\?token=[A-Za-z0-9_-]+/)?.[0];
    assert.ok(link?.startsWith(server.url), mail.text);
    await admin.goto(link);
    await admin.getByRole('heading', { name: 'Choose a new password' }).waitFor();
    await admin.getByLabel('New password', { exact: true }).fill('short');
    await admin.getByRole('button', { name: 'Set new password' }).click();
    await admin.getByText('Use at least 12 characters.').waitFor();
    await admin.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await admin.getByLabel('Repeat new password').fill(NEW_PASSWORD + '!');
    await admin.getByRole('button', { name: 'Set new password' }).click();
    await admin.getByText('The passwords do not match.').waitFor();
    await admin.getByLabel('Repeat new password').fill(NEW_PASSWORD);
    await screenshots(admin, 'reset-password');
    await admin.getByRole('button', { name: 'Set new password' }).click();
    await admin.getByText(/^The password of .+ was changed\. \d+ sessions? (was|were) signed out\.$/).waitFor();
    await screenshots(admin, 'reset-password-done');
    assert.equal((await fetch(server.url + '/v1/me', { headers: { Cookie: elsewhere } })).status, 401, 'other sessions ended');
    assert.equal((await login(PASSWORD)).status, 401, 'the old password is refused');

    await admin.getByRole('link', { name: 'Log in with the new password' }).click();
    await admin.waitForURL('**/login?email=*');
    assert.equal(await admin.getByLabel('Email').inputValue(), ADMIN.email);
    await admin.getByLabel('Password').fill(NEW_PASSWORD);
    await admin.getByRole('button', { name: 'Log in' }).click();
    await admin.getByRole('heading', { name: 'Team Members' }).waitFor();
    const changed = await smtp.waitFor(ADMIN.email, { subject: 'Your password was changed', count: 3 });
    assert.match(changed.text, /was reset at/);

    // The link works once.
    await admin.goto(link);
    await admin.getByLabel('New password', { exact: true }).fill(PASSWORD);
    await admin.getByLabel('Repeat new password').fill(PASSWORD);
    await admin.getByRole('button', { name: 'Set new password' }).click();
    await admin.getByText('This link has been used already.').waitFor();
    await admin.getByRole('link', { name: 'Ask for a new link' }).waitFor();
    assert.deepEqual(scriptErrors, []);
  });
});

// The second product document's two roles, word for word: an Admin invites (no role to pick:
// invitees join as Member), and a Member sees no Invite button, no pending invitations and
// no API key section.
describe('dashboard with the admin-member preset', { concurrency: false }, () => {
  let smtp, server, browser, adminPage, memberPage;

  before(async () => {
    smtp = await new SmtpSink().start();
    server = await new Gatehouse({ smtpUrl: smtp.url, extraArgs: ['--preset', 'admin-member'] }).start();
    browser = await launchBrowser();
    adminPage = await (await browser.newContext({ viewport: DESKTOP, baseURL: server.url })).newPage();
    memberPage = await (await browser.newContext({ viewport: DESKTOP, baseURL: server.url })).newPage();
    for (const p of [adminPage, memberPage]) p.setDefaultTimeout(30_000);
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    smtp?.stop();
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('an Admin invites without choosing a role', async () => {
    await adminPage.goto('/signup');
    await adminPage.getByLabel('Full name').fill('Alice Admin');
    await adminPage.getByLabel('Email').fill('alice@perspection.example.com');
    await adminPage.getByLabel('Password').fill(PASSWORD);
    await adminPage.getByRole('button', { name: 'Sign up' }).click();
    await adminPage.getByLabel('Workspace name').fill('Perspection Demo');
    await adminPage.getByRole('button', { name: 'Create workspace' }).click();
    await adminPage.getByRole('heading', { name: 'Team Members' }).waitFor();
    await adminPage.getByRole('button', { name: 'Invite Member' }).click();
    const dialog = adminPage.getByRole('dialog', { name: 'Invite Member' });
    await dialog.getByLabel('Email address').waitFor();
    assert.equal(await dialog.getByLabel('Role').count(), 0, 'invitees always join as Member');
    await dialog.getByLabel('Email address').fill('colleague@perspection.example.com');
    await dialog.getByRole('button', { name: 'Send Invitation' }).click();
    await adminPage.getByText('Invitation sent to colleague@perspection.example.com. You can change their role after they join.').waitFor();
  });

  test("a Member's view: no Invite button, no pending invitations, no API key section", async () => {
    const mail = await smtp.waitFor('colleague@perspection.example.com');
    const link = mail.text.match(/https?:\/\/\S+\/accept-invite\?token=[A-Za-z0-9_-]+/)[0];
    await memberPage.goto(link);
    await memberPage.getByText('as Member', { exact: false }).waitFor();
    await memberPage.getByLabel('Full name').fill('Carl Colleague');
    await memberPage.getByLabel('Password').fill(PASSWORD);
    await memberPage.getByRole('button', { name: 'Create account and join' }).click();
    await memberPage.getByRole('cell', { name: /Carl Colleague \(You\)/ }).waitFor();
    await memberPage.getByRole('cell', { name: /Alice Admin/ }).waitFor();
    for (const l of [
      memberPage.getByRole('button', { name: 'Invite Member' }),
      memberPage.getByRole('heading', { name: 'Pending Invitations' }),
      memberPage.getByRole('combobox', { name: /^Role of/ }),
      memberPage.getByRole('button', { name: /^Remove/ }),
      memberPage.getByRole('link', { name: 'API Keys' }),
    ]) {
      assert.equal(await l.count(), 0, `absent for a Member: ${l}`);
    }
    await screenshots(memberPage, 'admin-member-member-team');
    await memberPage.getByRole('link', { name: 'General' }).click();
    await memberPage.getByLabel('Workspace Name').waitFor();
    assert.equal(await memberPage.getByRole('heading', { name: 'API Keys' }).count(), 0);
    assert.equal(await memberPage.getByRole('heading', { name: 'Danger Zone' }).count(), 0);
    await memberPage.getByRole('link', { name: 'Account' }).click();
    await memberPage.getByText('member at Perspection Demo').waitFor();

    // The Admin promotes the Member with the role selector.
    await adminPage.reload();
    await adminPage.getByLabel('Role of Carl Colleague').selectOption({ label: 'Admin' });
    await adminPage.getByText('Carl Colleague is now Admin.').waitFor();
    await memberPage.reload();
    await memberPage.getByText('admin at Perspection Demo').waitFor();
    await memberPage.getByRole('link', { name: 'Team Members' }).click();
    await memberPage.getByRole('button', { name: 'Invite Member' }).waitFor();
  });

  test('someone with an account logs in from the invitation and accepts it', async () => {
    const erin = 'erin@elsewhere.example.com';
    const signup = await fetch(server.url + '/v1/auth/signup', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: erin, password: PASSWORD, name: 'Erin Existing' }),
    });
    assert.equal(signup.status, 201);
    await adminPage.getByRole('button', { name: 'Invite Member' }).click();
    const dialog = adminPage.getByRole('dialog', { name: 'Invite Member' });
    await dialog.getByLabel('Email address').fill(erin);
    await dialog.getByRole('button', { name: 'Send Invitation' }).click();
    await adminPage.getByText(`Invitation sent to ${erin}.`, { exact: false }).waitFor();

    const link = (await smtp.waitFor(erin, { subject: /invited you/ })).text.match(/https?:\/\/\S+\/accept-invite\?token=[A-Za-z0-9_-]+/)[0];
    const page = await (await browser.newContext({ viewport: DESKTOP, baseURL: server.url })).newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(link);
    await page.getByRole('link', { name: 'Log in to accept' }).click();
    await page.getByLabel('Email').fill(erin);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/accept-invite?token=*');
    // Her address is not verified yet: whoever signed up with it may not read its mail. The
    // page says so instead of offering to accept, and the server refuses anyway.
    await page.getByRole('region', { name: 'Verify your email address' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Accept invitation' }).count(), 0);
    await screenshots(page, 'accept-invite-unverified');
    const refused = await page.evaluate(async (token) => {
      const me = await (await fetch('/v1/me')).json();
      const r = await fetch(`/v1/invitations/${token}/accept`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
        body: '{}',
      });
      return [r.status, (await r.json()).code];
    }, new URL(link).searchParams.get('token'));
    assert.deepEqual(refused, [403, 'email_not_verified']);
    const verify = (await smtp.waitFor(erin, { subject: 'Verify your email address' })).text.match(/https?:\/\/\S+\/verify-email\?token=[A-Za-z0-9_-]+/)[0];
    await page.goto(verify);
    await page.getByRole('heading', { name: 'Email verified' }).waitFor();
    await page.goto(link);
    await page.getByRole('button', { name: 'Accept invitation' }).click();
    await page.getByRole('cell', { name: /Erin Existing \(You\)/ }).waitFor();
    await page.locator('.context-name', { hasText: 'Perspection Demo' }).waitFor();

    // The Admin removes Erin (and her keys); her access ends at once.
    await adminPage.reload();
    await adminPage.getByRole('button', { name: 'Remove Erin Existing' }).click();
    const confirm = adminPage.getByRole('dialog', { name: 'Remove Erin Existing?' });
    assert.ok(await confirm.getByLabel(/Revoke every API key/).isChecked(), 'revoking keys is the default');
    await confirm.getByRole('button', { name: 'Remove member' }).click();
    await adminPage.getByText('Erin Existing was removed from Perspection Demo.').waitFor();
    await adminPage.getByRole('cell', { name: /^Erin Existing/ }).waitFor({ state: 'detached' });
    await page.reload();
    await page.getByText('This workspace could not be loaded', { exact: false }).waitFor();
  });
});

// Single sign-on against a real SAML 2.0 identity provider (pysaml2, tests/e2e/idp/saml_idp.py):
// the owner adds a connection by pasting the IdP's metadata, tests it in the browser (IdP →
// auto-posted form → ACS → back on the SSO page), and enables it; a new person signs in with
// "Sign in with SSO" and is provisioned just in time; with SSO enforced, a member's password
// session and password login are sent to the IdP instead, while the owner keeps password access.
describe('single sign-on with a real SAML identity provider', { concurrency: false }, () => {
  const DOMAIN = 'acme-sso.example.com';
  const OWNER = { name: 'Olga Owner', email: `olga@${DOMAIN}` };
  let smtp, server, idp, browser, owner, wsId, ssoBase;
  const scriptErrors = [];

  async function newPage() {
    const page = await (await browser.newContext({ viewport: DESKTOP, baseURL: server.url })).newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => scriptErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) scriptErrors.push(m.text());
    });
    return page;
  }

  before(async () => {
    [smtp, idp] = await Promise.all([new SmtpSink().start(), new SamlIdp().start()]);
    server = await new Gatehouse({ smtpUrl: smtp.url }).start();
    browser = await launchBrowser();
    owner = await newPage();
    // The owner and the workspace through the API: the first suite walks those screens.
    const signup = await owner.request.post('/v1/auth/signup', { data: { ...OWNER, password: PASSWORD } });
    assert.equal(signup.status(), 201);
    owner.csrf = (await signup.json()).csrf_token;
    const ws = await owner.request.post('/v1/workspaces', { data: { name: 'Acme SSO' }, headers: { 'X-CSRF-Token': owner.csrf } });
    assert.equal(ws.status(), 201);
    wsId = (await ws.json()).id;
    ssoBase = `/w/${wsId}/settings/sso`;
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    idp?.stop();
    smtp?.stop();
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('the owner adds a SAML connection from IdP metadata, tests it in the browser and enables it', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await owner.getByRole('link', { name: 'Single Sign-On' }).click();
    await owner.getByRole('heading', { name: 'Single Sign-On', exact: true }).waitFor();
    await owner.getByText('No connections yet.', { exact: false }).waitFor();

    await owner.getByRole('button', { name: 'Add connection' }).click();
    await owner.getByRole('heading', { name: 'Add SSO connection' }).waitFor();
    // The picker offers both families; each shows the fields it needs.
    await owner.getByRole('radio', { name: 'Custom OIDC' }).check();
    await owner.getByLabel('Issuer URL').waitFor();
    await owner.getByLabel('Client secret').waitFor();
    await owner.getByRole('radio', { name: 'Okta' }).check();
    await owner.getByLabel('Connection name').fill('Acme Okta');
    await owner.getByLabel('Domains').fill(DOMAIN);
    await owner.getByLabel('IdP metadata XML').fill(await idp.metadata());
    await owner.getByRole('button', { name: 'Add role mapping' }).click();
    await owner.getByLabel('Attribute value 1').fill('admins');
    await owner.getByLabel('Role for value 1').selectOption({ label: 'Admin' });
    assert.ok(await owner.getByLabel(/Just-in-time provisioning/).isChecked(), 'JIT is on by default');
    await screenshots(owner, 'sso-add-connection');
    await owner.getByRole('button', { name: 'Create connection' }).click();

    await owner.waitForURL(/\/settings\/sso\?connection=sso_[^&]+&created=1$/);
    await owner.getByRole('heading', { name: /Acme Okta/ }).waitFor();
    const spEntity = await owner.getByRole('textbox', { name: 'Entity ID (Audience)' }).inputValue();
    const acs = await owner.getByRole('textbox', { name: 'ACS URL (Reply URL)' }).inputValue();
    const metadataUrl = await owner.getByRole('textbox', { name: 'Metadata URL' }).inputValue();
    assert.ok(acs.startsWith(server.url + '/v1/sso/saml/sso_'), acs);
    assert.ok(spEntity && metadataUrl.startsWith(server.url), metadataUrl);
    await owner.getByRole('button', { name: 'Copy Metadata URL' }).waitFor();
    // Untested, it cannot be enabled: the 409 sso_untested says what to do.
    await owner.getByRole('button', { name: 'Enable' }).click();
    await owner.getByText('This connection cannot be enabled yet: run Test connection', { exact: false }).waitFor();
    await screenshots(owner, 'sso-connection-draft');

    // The IdP trusts this SP (from its metadata URL) and signs in a test person.
    await idp.trustSp(metadataUrl);
    await idp.setIdentity({ email: `tess@${DOMAIN}`, first_name: 'Tess', last_name: 'Tester', groups: ['admins', 'staff'] });
    await owner.getByRole('button', { name: 'Test connection' }).click();
    // IdP → auto-posted form → ACS → /settings/sso?workspace=…&connection=…&test=succeeded → this
    // workspace (the return URL names its workspace since GET /v1/me lists only an SSO session's).
    await owner.waitForURL(new RegExp(`/w/${wsId}/settings/sso\\?(workspace=${wsId}&)?connection=sso_[^&]+&test=succeeded$`));
    const result = owner.getByRole('region', { name: 'Test result' });
    await result.getByText('Succeeded', { exact: true }).waitFor();
    await result.getByRole('definition').filter({ hasText: `tess@${DOMAIN}` }).waitFor();
    await result.getByRole('cell', { name: 'admins, staff' }).waitFor();
    await screenshots(owner, 'sso-test-succeeded');

    await owner.getByRole('button', { name: 'Enable' }).click();
    await owner.getByRole('button', { name: 'Disable' }).waitFor();
    await owner.getByRole('heading', { name: /Acme Okta/ }).getByText('Active').waitFor();
    await owner.getByRole('link', { name: '← All connections' }).click();
    const row = owner.getByRole('row', { name: /Acme Okta/ });
    await row.getByText('Active', { exact: true }).waitFor();
    await row.getByText('Test succeeded').waitFor();
  });

  test('"Sign in with SSO" on the login page signs a new person in, provisioned just in time', async () => {
    const page = await newPage();
    await page.goto('/login');
    await page.getByRole('button', { name: 'Sign in with SSO' }).click();
    await page.getByRole('heading', { name: 'Sign in with SSO' }).waitFor();
    await page.getByLabel('Work email').fill('not an email');
    await page.getByRole('button', { name: 'Continue with SSO' }).click();
    await page.getByText('Enter your work email address', { exact: false }).waitFor();
    await page.getByLabel('Work email').fill(`jamie@${DOMAIN}`);
    await screenshots(page, 'login-sso');
    await idp.setIdentity({ email: `jamie@${DOMAIN}`, first_name: 'Jamie', last_name: 'Newcomer', groups: ['admins'] });
    await page.getByRole('button', { name: 'Continue with SSO' }).click();
    await page.waitForURL(new RegExp(`/w/${wsId}/settings/team$`));
    await page.getByRole('cell', { name: /Jamie Newcomer \(You\)/ }).waitFor();
    // The session came from /v1/me after the redirect: its CSRF token works for a change.
    await page.getByRole('link', { name: 'Account' }).click();
    await page.getByLabel('Full name').fill('Jamie N. Newcomer');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Name updated.').waitFor();
    await page.getByRole('listitem').filter({ hasText: 'This device' }).getByText('Single sign-on', { exact: true }).waitFor();
    const me = await (await page.request.get('/v1/me')).json();
    assert.deepEqual(
      me.memberships.map((m) => [m.workspace_id, m.role]),
      [[wsId, 'admin']],
      'joined through the role mapping (groups: admins → Admin)',
    );
    await page.context().close();
  });

  test('with SSO enforced, a member is sent to the identity provider instead of using a password', async () => {
    // A member of the domain who has a password: invited, joins with a new account.
    const carol = { name: 'Carol Member', email: `carol@${DOMAIN}` };
    const inv = await owner.request.post(`/v1/workspaces/${wsId}/invitations`, { data: { email: carol.email, role: 'developer' }, headers: { 'X-CSRF-Token': owner.csrf } });
    assert.equal(inv.status(), 201);
    const token = (await smtp.waitFor(carol.email, { subject: /invited you/ })).text.match(/accept-invite\?token=([A-Za-z0-9_-]+)/)[1];
    const member = await newPage();
    const accepted = await member.request.post(`/v1/invitations/${token}/accept`, { data: { name: carol.name, password: PASSWORD } });
    assert.ok(accepted.ok(), `accept: ${accepted.status()}`);
    await member.goto('/');
    await member.getByRole('cell', { name: /Carol Member \(You\)/ }).waitFor();

    // The owner enforces SSO, after a warning.
    await owner.goto(ssoBase);
    const enforce = owner.getByRole('switch', { name: 'Require SSO for members of this workspace' });
    assert.equal(await enforce.isChecked(), false);
    await owner.getByText('can no longer sign in with a password; the owner keeps password access', { exact: false }).first().waitFor();
    await enforce.click();
    const dialog = owner.getByRole('dialog', { name: 'Enforce single sign-on?' });
    await dialog.getByRole('button', { name: 'Enforce SSO' }).click();
    await dialog.waitFor({ state: 'detached' });
    await owner.waitForFunction(() => document.querySelector('[role=switch]')?.checked === true);
    await screenshots(owner, 'sso-enforced');

    // Carol's password session no longer opens the workspace: a screen sends her to the IdP.
    await member.reload();
    await member.getByRole('heading', { name: 'Single sign-on required' }).waitFor();
    await member.getByRole('button', { name: 'Continue with single sign-on' }).waitFor();
    await screenshots(member, 'sso-required-workspace');

    // A password login answers sso_required: the message and a button to continue at the IdP.
    await member.getByRole('button', { name: 'Log out' }).click();
    await member.waitForURL('**/login');
    await member.getByLabel('Email').fill(carol.email);
    await member.getByLabel('Password').fill(PASSWORD);
    await member.getByRole('button', { name: 'Log in' }).click();
    const notice = member.getByRole('alert').filter({ hasText: 'Single sign-on required.' });
    await notice.getByText('requires single sign-on', { exact: false }).waitFor();
    await screenshots(member, 'login-sso-required');
    await idp.setIdentity({ email: carol.email, first_name: 'Carol', last_name: 'Member', groups: [] });
    await notice.getByRole('button', { name: 'Continue with single sign-on' }).click();
    await member.waitForURL(new RegExp(`/w/${wsId}/settings/team$`));
    await member.getByRole('cell', { name: /Carol Member \(You\)/ }).waitFor();
    await member.context().close();

    // The owner keeps password access (break-glass).
    await owner.reload();
    await owner.getByRole('heading', { name: 'Single Sign-On', exact: true }).waitFor();
    const login = await fetch(server.url + '/v1/auth/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: OWNER.email, password: PASSWORD }),
    });
    assert.equal(login.status, 200);
  });

  test('deleting a connection asks first, and is refused while it carries enforcement', async () => {
    await owner.goto(ssoBase);
    await owner.getByRole('button', { name: 'Manage Acme Okta' }).click();
    await owner.getByRole('button', { name: 'Delete connection' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Delete Acme Okta?' });
    await dialog.getByRole('button', { name: 'Delete connection' }).click();
    await dialog.getByText('turn enforcement off first', { exact: false }).waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await owner.getByRole('link', { name: '← All connections' }).click();
    await owner.getByRole('switch', { name: 'Require SSO for members of this workspace' }).click();
    await owner.waitForFunction(() => document.querySelector('[role=switch]')?.checked === false);
    await owner.getByRole('button', { name: 'Manage Acme Okta' }).click();
    await owner.getByRole('button', { name: 'Delete connection' }).click();
    await dialog.getByRole('button', { name: 'Delete connection' }).click();
    await owner.getByText('Acme Okta was deleted.').waitFor();
    await owner.getByText('No connections yet.', { exact: false }).waitFor();
    assert.deepEqual(scriptErrors, []);
  });
});

// Directory sync (SCIM 2.0): the owner creates a token on Settings → Directory Sync (its secret
// shown once) and maps the directory group Engineering to Developer; the test then plays the
// identity provider with Node's fetch and that token (create a user, push the group, deactivate),
// and the dashboard shows what the directory did: the Directory badge and the mapped role on the
// team, Deactivated, the provisioning events, Reactivate with the override, revoking the token,
// and the screen a deactivated member sees.
describe('directory sync over SCIM', { concurrency: false }, () => {
  const OWNER = { name: 'Dora Owner', email: 'dora@acme-scim.example.com' };
  const DANA = { given: 'Dana', family: 'Directory', email: 'dana@acme-scim.example.com' };
  const ERIN = { name: 'Erin Linked', email: 'erin@acme-scim.example.com' };
  let smtp, server, browser, owner, wsId, scimToken, danaId;
  const scriptErrors = [];

  async function newPage() {
    const page = await (await browser.newContext({ viewport: DESKTOP, baseURL: server.url })).newPage();
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (e) => scriptErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) scriptErrors.push(m.text());
    });
    return page;
  }

  /** A SCIM request as Okta sends it: the bearer token, application/scim+json. */
  async function scim(method, pathname, body, token = scimToken) {
    const res = await fetch(`${server.url}/scim/v2/${wsId}${pathname}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/scim+json', Accept: 'application/scim+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  const createUser = (email, given, family) =>
    scim('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: email,
      name: { givenName: given, familyName: family },
      emails: [{ value: email, type: 'work', primary: true }],
      active: true,
    });
  const setActive = (id, active) =>
    scim('PATCH', `/Users/${id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active } }] });

  before(async () => {
    smtp = await new SmtpSink().start();
    server = await new Gatehouse({ smtpUrl: smtp.url }).start();
    browser = await launchBrowser();
    owner = await newPage();
    // The owner and the workspace through the API: the first suite walks those screens.
    const signup = await owner.request.post('/v1/auth/signup', { data: { ...OWNER, password: PASSWORD } });
    assert.equal(signup.status(), 201);
    owner.csrf = (await signup.json()).csrf_token;
    const ws = await owner.request.post('/v1/workspaces', { data: { name: 'Acme Directory' }, headers: { 'X-CSRF-Token': owner.csrf } });
    assert.equal(ws.status(), 201);
    wsId = (await ws.json()).id;
  });

  after(async () => {
    await browser?.close();
    const code = await server?.stop();
    smtp?.stop();
    assert.equal(code, 0, 'gatehouse exits cleanly on SIGTERM');
  });

  test('the owner creates a SCIM token, sees its secret once, and maps Engineering to Developer', async () => {
    await owner.goto(`/w/${wsId}/settings/team`);
    await owner.getByRole('link', { name: 'Directory Sync' }).click();
    await owner.getByRole('heading', { name: 'Directory Sync', exact: true }).waitFor();
    await owner.getByText('No tokens yet.', { exact: false }).waitFor();
    assert.equal(await owner.getByRole('textbox', { name: 'SCIM base URL' }).inputValue(), `${server.url}/scim/v2/${wsId}`);
    await owner.getByRole('button', { name: 'Copy SCIM base URL' }).waitFor();
    await owner.getByRole('heading', { name: 'Okta' }).waitFor();
    await owner.getByRole('heading', { name: 'Microsoft Entra ID' }).waitFor();
    await owner.getByText("A member's role is the highest role mapped from their groups; people in no mapped group get Viewer.").waitFor();
    await screenshots(owner, 'directory-sync');

    await owner.getByRole('button', { name: 'Create token' }).click();
    const create = owner.getByRole('dialog', { name: 'Create SCIM token' });
    await create.getByLabel('Name').fill('Okta');
    await create.getByRole('button', { name: 'Create token' }).click();
    const shown = owner.getByRole('dialog', { name: 'SCIM token created' });
    await shown.getByText('It will not be shown again', { exact: false }).waitFor();
    scimToken = await shown.getByRole('textbox', { name: 'Token for Okta' }).inputValue();
    assert.match(scimToken, /^scim_/);
    assert.equal(await shown.getByRole('textbox', { name: 'SCIM base URL' }).inputValue(), `${server.url}/scim/v2/${wsId}`);
    await shown.getByRole('button', { name: 'Copy Token for Okta' }).waitFor();
    await screenshots(owner, 'directory-token-created');
    await shown.getByRole('button', { name: 'I have copied it' }).click();
    await shown.waitFor({ state: 'detached' });
    const tokens = owner.getByRole('table', { name: 'SCIM tokens' });
    const row = tokens.getByRole('row', { name: /Okta/ });
    await row.getByText('Active', { exact: true }).waitFor();
    await row.getByText('Never', { exact: true }).waitFor();
    assert.ok(!(await owner.content()).includes(scimToken), 'the secret is gone once the dialog closes');
    await owner.reload();
    await row.waitFor();
    assert.ok(!(await owner.content()).includes(scimToken), 'and the list never carries it');

    // Two rows for one group: the server's answer names the second row, shown there.
    await owner.getByRole('button', { name: 'Add group' }).click();
    await owner.getByLabel('Directory group 1').fill('Engineering');
    await owner.getByLabel('Role for group 1').selectOption({ label: 'Developer' });
    await owner.getByRole('button', { name: 'Add group' }).click();
    await owner.getByLabel('Directory group 2').fill('engineering');
    await owner.getByRole('button', { name: 'Save mappings' }).click();
    await owner.getByRole('group', { name: 'Mapping 2' }).getByText('mapped twice', { exact: false }).waitFor();
    await owner.getByRole('button', { name: 'Remove mapping 2' }).click();
    await owner.getByRole('button', { name: 'Save mappings' }).click();
    await owner.getByText('Mappings saved.', { exact: false }).waitFor();
    await screenshots(owner, 'directory-mappings');
    const saved = await (await owner.request.get(`/v1/workspaces/${wsId}/scim/group-mappings`)).json();
    assert.deepEqual(saved, [{ group: 'Engineering', role: 'developer', projects: [] }]);
  });

  test('the directory provisions a member: Directory badge and the mapped role, then Deactivated, and Reactivate overrides it', async () => {
    const created = await createUser(DANA.email, DANA.given, DANA.family);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    danaId = created.body.id;
    const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Engineering', members: [{ value: danaId }] });
    assert.equal(group.status, 201, JSON.stringify(group.body));

    const who = `${DANA.given} ${DANA.family}`;
    await owner.goto(`/w/${wsId}/settings/team`);
    const row = owner.getByRole('row', { name: new RegExp(who) });
    await row.getByText('Directory', { exact: true }).waitFor();
    assert.equal(await owner.getByLabel(`Role of ${who}`).inputValue(), 'developer', 'Engineering → Developer');
    assert.equal(await row.getByText('Deactivated', { exact: true }).count(), 0);

    const off = await setActive(danaId, false);
    assert.equal(off.status, 200, JSON.stringify(off.body));
    await owner.reload();
    await row.getByText('Deactivated', { exact: true }).waitFor();
    await owner.getByText('1 deactivated', { exact: false }).waitFor();
    await screenshots(owner, 'team-directory-badges');

    // The provisioning events, in words.
    await owner.getByRole('link', { name: 'Directory Sync' }).click();
    const events = owner.getByRole('table', { name: 'Latest provisioning events' });
    for (const [event, target] of [
      ['User deactivated', who],
      ['Group created', 'Engineering'],
      ['User created', who],
      ['Mappings updated', '1 group'],
      ['Token created', 'Okta'],
    ]) {
      await events.getByRole('row', { name: new RegExp(`${event}.*${target}`) }).waitFor();
    }

    // Reactivating by hand overrides the directory, after a warning that it may deactivate again.
    await owner.getByRole('link', { name: 'Team Members' }).click();
    await owner.getByRole('button', { name: `Reactivate ${who}` }).click();
    const dialog = owner.getByRole('dialog', { name: `Reactivate ${who}?` });
    await dialog
      .getByText('This member is managed by your directory, which deactivated them. Reactivating here overrides it; the directory may deactivate them again on its next sync.')
      .waitFor();
    await dialog.getByRole('button', { name: 'Reactivate anyway' }).click();
    await owner.getByText(`${who} is active again in Acme Directory.`).waitFor();
    await row.getByText('Deactivated', { exact: true }).waitFor({ state: 'detached' });
    await row.getByText('Directory', { exact: true }).waitFor();
    const listed = (await (await owner.request.get(`/v1/workspaces/${wsId}/members?limit=200`)).json()).data.find((m) => m.email === DANA.email);
    assert.equal(listed.status, 'active');
    assert.equal(listed.directory_managed, true);
    await owner.getByRole('link', { name: 'Directory Sync' }).click();
    await events.getByRole('row', { name: new RegExp(`Reactivated here, overriding the directory.*${who}`) }).waitFor();
  });

  test('a linked person the directory deactivates sees why, not a generic error', async () => {
    // Erin has an account with a verified email: the directory's user links to it.
    const erin = await newPage();
    const signup = await erin.request.post('/v1/auth/signup', { data: { ...ERIN, password: PASSWORD } });
    assert.equal(signup.status(), 201);
    const csrf = (await signup.json()).csrf_token;
    const token = (await smtp.waitFor(ERIN.email, { subject: 'Verify your email address' })).text.match(/verify-email\?token=([A-Za-z0-9_-]+)/)[1];
    assert.equal((await erin.request.post('/v1/auth/verify-email', { data: { token }, headers: { 'X-CSRF-Token': csrf } })).status(), 200);
    const created = await createUser(ERIN.email, 'Erin', 'Linked');
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await erin.goto(`/w/${wsId}/settings/team`);
    await erin.getByRole('cell', { name: /Erin Linked \(You\)/ }).waitFor();

    assert.equal((await setActive(created.body.id, false)).status, 200);
    await erin.reload();
    await erin.getByRole('heading', { name: 'Access deactivated' }).waitFor();
    await erin.getByText('Your access to Acme Directory was deactivated by its directory. Contact an administrator.').waitFor();
    assert.equal(await erin.getByText('This workspace could not be loaded', { exact: false }).count(), 0);
    await screenshots(erin, 'member-deactivated');
    await erin.context().close();
  });

  test('revoking the token asks first, and the directory is refused from then on', async () => {
    await owner.goto(`/w/${wsId}/settings/directory`);
    await owner.getByRole('button', { name: 'Revoke Okta' }).click();
    const dialog = owner.getByRole('dialog', { name: 'Revoke Okta?' });
    await dialog.getByRole('button', { name: 'Revoke token' }).click();
    await owner.getByText('Okta was revoked.', { exact: false }).waitFor();
    await owner.getByRole('table', { name: 'SCIM tokens' }).getByRole('row', { name: /Okta/ }).getByText(/^Revoked/).waitFor();
    assert.equal(await owner.getByRole('button', { name: 'Revoke Okta' }).count(), 0);
    assert.equal((await scim('GET', '/Users')).status, 401);
    await owner.getByRole('table', { name: 'Latest provisioning events' }).getByRole('row', { name: /Token revoked.*Okta/ }).waitFor();
    assert.deepEqual(scriptErrors, []);
  });
});

// Webhooks and notifications (issue 18): their own suite, run after these.
await import('./notifications.test.mjs');
// Suspending members (issue 19): its own suite, run after these.
await import('./suspension.test.mjs');
