// What the browser tests stand on: the real gatehouse binary on a free loopback port with
// SQLite, a real SMTP sink (aiosmtpd) it delivers mail to, and Debian's Chromium driven by
// playwright-core (installed in web/node_modules by scripts/web.sh).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '..', '..');
const require = createRequire(path.join(root, 'web', 'package.json'));
export const { chromium } = require('playwright-core');

export const outputDir = process.env.BROWSER_TEST_OUTPUT || path.join(here, 'output');

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    timeout: 60_000,
  });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Resolves with the first match of `re` in the child's stdout; rejects when it exits first. */
function waitForLine(child, re, what, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk) => {
      buf += chunk.toString();
      const m = buf.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
      if (buf.length > 1 << 20) buf = buf.slice(-4096);
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with code ${code} before it was ready`));
    });
  });
}

export class SmtpSink {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-mail-'));
    this.proc = spawn('/usr/bin/python3', [path.join(here, 'smtp_sink.py'), this.dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const m = await waitForLine(this.proc, /READY (\d+)/, 'the SMTP sink');
    this.proc.stdout.resume();
    this.url = `smtp://127.0.0.1:${m[1]}`;
    return this;
  }

  messages() {
    return fs
      .readdirSync(this.dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(this.dir, f), 'utf8')));
  }

  /** The `count`-th message to `address` (whose subject matches `subject`, a string or a
   *  RegExp, when given), polling for up to `timeoutMs`. */
  async waitFor(address, { count = 1, timeoutMs = 30_000, subject } = {}) {
    const deadline = Date.now() + timeoutMs;
    const about = (m) => subject === undefined || (subject instanceof RegExp ? subject.test(m.subject) : m.subject === subject);
    for (;;) {
      const got = this.messages().filter((m) => m.to.includes(address) && about(m));
      if (got.length >= count) return got[count - 1];
      if (Date.now() > deadline) throw new Error(`no mail #${count} for ${address}; have ${JSON.stringify(this.messages().map((m) => m.to))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The real pysaml2 identity provider of the e2e tests (tests/e2e/idp/saml_idp.py), on a free
 *  loopback port, with its control endpoints: the identity of the next logins and the trusted SPs. */
export class SamlIdp {
  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-idp-'));
    const script = path.join(root, 'tests', 'e2e', 'idp', 'saml_idp.py');
    this.proc = spawn('/usr/bin/python3', [script, '--port', '0', '--workdir', this.dir, '--parent-pid', String(process.pid)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const m = await waitForLine(this.proc, /listening (http:\/\/\S+)/, 'the SAML IdP');
    this.proc.stdout.resume();
    this.url = m[1];
    return this;
  }

  async #control(pathname, body, contentType = 'application/json') {
    const res = await fetch(this.url + pathname, { method: 'POST', headers: { 'Content-Type': contentType }, body });
    if (!res.ok) throw new Error(`IdP ${pathname}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** Who the IdP signs in from now on: {email, first_name?, last_name?, groups?}. */
  setIdentity(identity) {
    return this.#control('/__control/identity', JSON.stringify(identity));
  }

  /** Trusts the SP whose metadata is at `metadataUrl` (Gatehouse's sp.metadata_url). */
  async trustSp(metadataUrl) {
    const res = await fetch(metadataUrl);
    if (!res.ok) throw new Error(`SP metadata ${metadataUrl}: ${res.status}`);
    return this.#control('/__control/sp', await res.text(), 'application/samlmetadata+xml');
  }

  async metadata() {
    const res = await fetch(this.url + '/metadata');
    if (!res.ok) throw new Error(`IdP metadata: ${res.status}`);
    return res.text();
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The e2e tests' webhook receiver (tests/e2e/webhook_receiver/receiver.mjs, npm
 *  standardwebhooks): records every delivery, verifies its signature with the secrets it is
 *  given, and sinks Slack messages under /slack/. */
export class WebhookReceiver {
  async start() {
    const dir = path.join(root, 'tests', 'e2e', 'webhook_receiver');
    if (!fs.existsSync(path.join(dir, 'node_modules', 'standardwebhooks'))) {
      throw new Error('npm standardwebhooks is missing: run `bash scripts/npm-ci.sh tests/e2e/webhook_receiver e2e-webhooks`');
    }
    this.proc = spawn(process.execPath, [path.join(dir, 'receiver.mjs'), '--port', '0', '--parent-pid', String(process.pid)], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const m = await waitForLine(this.proc, /listening (\d+)/, 'the webhook receiver');
    this.proc.stdout.resume();
    this.base = `http://127.0.0.1:${m[1]}`;
    return this;
  }

  url(pathname = '/hook') {
    return this.base + pathname;
  }

  async #control(method, pathname, body) {
    const res = await fetch(this.base + pathname, {
      method,
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`receiver ${pathname}: ${res.status} ${await res.text()}`);
    return res.json();
  }

  /** The whsec_ secrets to verify with, current first. */
  secrets(list) {
    return this.#control('POST', '/__secrets', { secrets: list });
  }

  /** Answers for the next attempts at `pathname`, in order (statuses), then 200 again. */
  plan(pathname, statuses) {
    return this.#control('POST', '/__plan', { path: pathname, statuses });
  }

  /** Every attempt at `pathname` so far, in arrival order. */
  attempts(pathname) {
    return this.#control('GET', '/__attempts?path=' + encodeURIComponent(pathname));
  }

  /** The first `count` attempts at `pathname`, polling for up to `timeoutMs`. */
  async waitFor(pathname, count = 1, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = await this.attempts(pathname);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`${got.length} of ${count} attempts at ${pathname}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  stop() {
    if (this.proc && this.proc.exitCode === null) this.proc.kill('SIGTERM');
  }
}

export class Gatehouse {
  constructor({ smtpUrl, binary, extraArgs = [] } = {}) {
    this.smtpUrl = smtpUrl;
    this.extraArgs = extraArgs;
    this.binary = binary || process.env.GATEHOUSE_BIN || path.join(root, 'build', 'gatehouse');
  }

  async start() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gh-browser-'));
    // The tests must not pick up the developer's or CI's own configuration.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEHOUSE_')));
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      this.url = `http://127.0.0.1:${port}`;
      const args = ['serve', '--listen', `127.0.0.1:${port}`, '--db', `sqlite:${this.dir}/g.db`, '--public-url', this.url];
      // This tree's dashboard (scripts/web.sh), not the one the binary was built beside: a
      // worktree's tests then run its own web/ against a shared binary.
      if (fs.existsSync(path.join(root, 'web', 'dist', 'index.html'))) args.push('--web-dir', path.join(root, 'web', 'dist'));
      if (this.smtpUrl) args.push('--smtp', this.smtpUrl);
      args.push(...this.extraArgs);
      this.stderr = fs.openSync(path.join(this.dir, 'stderr.log'), 'w');
      this.proc = spawn(this.binary, args, { env, stdio: ['ignore', 'pipe', this.stderr] });
      try {
        await waitForLine(this.proc, /Gatehouse is listening on (http:\/\/\S+)/, 'gatehouse');
        this.proc.stdout.resume(); // drain the access log so that the server never blocks
        return this;
      } catch (e) {
        if (attempt >= 4) throw new Error(`${e.message}\n${fs.readFileSync(path.join(this.dir, 'stderr.log'), 'utf8')}`);
      }
    }
  }

  /** Stops with SIGTERM and resolves with the exit code. */
  stop() {
    return new Promise((resolve) => {
      if (!this.proc || this.proc.exitCode !== null) return resolve(this.proc?.exitCode ?? null);
      const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
      this.proc.once('exit', (code) => {
        clearTimeout(timer);
        fs.rmSync(this.dir, { recursive: true, force: true });
        resolve(code);
      });
      this.proc.kill('SIGTERM');
    });
  }
}

export const DESKTOP = { width: 1280, height: 860 };
export const MOBILE = { width: 390, height: 844 };

/** Full-page screenshots of `page` at desktop and mobile widths, as NAME-desktop.png / NAME-mobile.png. */
export async function screenshots(page, name) {
  await assertLabelled(page, name);
  fs.mkdirSync(outputDir, { recursive: true });
  const original = page.viewportSize();
  for (const [label, size] of [['desktop', DESKTOP], ['mobile', MOBILE]]) {
    await page.setViewportSize(size);
    await page.evaluate(() => document.fonts.ready);
    await page.screenshot({ path: path.join(outputDir, `${name}-${label}.png`), fullPage: true });
  }
  await page.setViewportSize(original);
}

/** Every form control and button on the page has an accessible name. */
export async function assertLabelled(page, where) {
  const unlabelled = await page.evaluate(() =>
    [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button, a[href]')]
      .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.labels?.length || ((el.tagName === 'BUTTON' || el.tagName === 'A') && el.textContent.trim())))
      .map((el) => el.outerHTML.slice(0, 120)),
  );
  if (unlabelled.length) throw new Error(`unlabelled controls on ${where}: ${unlabelled.join(' | ')}`);
}

/** Waits until `fn()` is truthy (polling every 100 ms), for up to `ms`. */
export async function until(fn, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
