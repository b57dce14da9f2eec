// A webhook receiver for Gatehouse's end-to-end tests: it verifies Standard Webhooks
// signatures with the official npm `standardwebhooks` library (the one receivers install), and
// sinks Slack incoming-webhook messages the way hooks.slack.com judges them.
//
//   node tests/e2e/webhook_receiver/receiver.mjs [--port 0] [--parent-pid PID]
//
// Listens on 127.0.0.1 (port 0: any free one) and prints "listening <port>" as its only stdout
// line. Exits with 0 on SIGTERM/SIGINT, and by itself when its parent process dies.
//
// Every POST outside /__ is an attempt, recorded as
//   {path, query, method, headers, body, verified, verified_with, verify_error, slack_valid,
//    answered, at}
// (`at`: Unix seconds, fractional; `verified_with`: index of the secret that verified it, or
// null; `slack_valid`: null outside /slack/).
//
// Webhook paths (anything not under /slack/): the body is verified with
// `new Webhook(secret).verify(rawBody, headers)` for each secret in turn (current first), which
// checks webhook-id/-timestamp/-signature, the signature over the exact bytes received, and a
// timestamp within 5 minutes of now. The answer is the next planned one for that path, else
// 200 (or 401 for an unverified attempt after /__secrets {reject_unverified: true}).
//
// Slack paths (/slack/...): the body must be JSON with `text` (string) and `blocks` (array of
// objects with a string `type`), as @slack/webhook sends; the answer is "ok" (text/plain), or
// 400 "invalid_payload" when the shape is wrong, or the next planned one. Planned 400, 404,
// 410 and 429 answer Slack's own plain-text errors: invalid_payload, channel_not_found,
// channel_is_archived, rate_limited (with Retry-After, 1 by default).
//
// Control (JSON):
//   POST /__plan     {path, statuses: [503, 503, 200]}  answers for the next attempts at path,
//                    consumed in order; an entry is a status or {status, body?, retry_after?,
//                    delay_ms?} (delay_ms holds the answer back, to test timeouts).
//                    Replaces any plan left for that path.
//   POST /__secrets  {secrets: ["whsec_…", …], reject_unverified?: false}
//   GET  /__attempts[?path=/x]  → [attempt, …] in arrival order (all paths without ?path)
//   POST /__reset    forgets attempts, plans and secrets
//   GET  /__health   → 200
import http from 'node:http';
import { parseArgs } from 'node:util';

import { Webhook } from 'standardwebhooks';

console.log = console.error; // stdout carries the one "listening" line
console.info = console.error;

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'parent-pid': { type: 'string', default: '' },
  },
});

// ---------------------------------------------------------------- lifetime
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
const startPpid = process.ppid;
const parentPid = Number(opts['parent-pid']) || 0;
setInterval(() => {
  let parentGone = process.ppid !== startPpid;
  if (!parentGone && parentPid) {
    try {
      process.kill(parentPid, 0);
    } catch (err) {
      parentGone = err.code === 'ESRCH';
    }
  }
  if (parentGone) process.exit(0);
}, 500).unref();

// ---------------------------------------------------------------- state
let secrets = [];
let rejectUnverified = false;
let attempts = [];
let plans = new Map(); // path -> [entry, ...]

const SLACK_ERRORS = {
  400: 'invalid_payload',
  403: 'action_prohibited',
  404: 'channel_not_found',
  410: 'channel_is_archived',
  429: 'rate_limited',
  500: 'rollup_error',
};

function nextPlanned(path) {
  const plan = plans.get(path);
  if (!plan || plan.length === 0) return null;
  const entry = plan.shift();
  return typeof entry === 'number' ? { status: entry } : { ...entry };
}

function verify(raw, headers) {
  let lastError = secrets.length ? null : 'no secret set';
  for (let i = 0; i < secrets.length; i++) {
    try {
      new Webhook(secrets[i]).verify(raw, headers);
      return { verified: true, verified_with: i, verify_error: null };
    } catch (err) {
      lastError = `${err.name}: ${err.message}`;
    }
  }
  return { verified: false, verified_with: null, verify_error: lastError };
}

function slackShapeOk(raw) {
  let doc;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch {
    return false;
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return false;
  if (typeof doc.text !== 'string') return false;
  if (!Array.isArray(doc.blocks)) return false;
  return doc.blocks.every(
    (b) => b !== null && typeof b === 'object' && !Array.isArray(b) && typeof b.type === 'string',
  );
}

// ---------------------------------------------------------------- answers
function send(res, status, body, contentType, extraHeaders = {}) {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': bytes.length,
    ...extraHeaders,
  });
  res.end(bytes);
}

function json(res, status, value) {
  send(res, status, JSON.stringify(value), 'application/json');
}

function answerWebhook(attempt, planned) {
  if (planned) {
    return {
      status: planned.status,
      body: planned.body ?? JSON.stringify({ planned: planned.status }),
      type: 'application/json',
      retryAfter: planned.retry_after,
      delayMs: planned.delay_ms,
    };
  }
  if (!attempt.verified && rejectUnverified) {
    const body = JSON.stringify({ error: attempt.verify_error });
    return { status: 401, body, type: 'application/json' };
  }
  return { status: 200, body: JSON.stringify({ received: true }), type: 'application/json' };
}

function answerSlack(attempt, planned) {
  if (planned) {
    const status = planned.status;
    const fallback = status >= 200 && status < 300 ? 'ok' : (SLACK_ERRORS[status] ?? 'error');
    const body = planned.body ?? fallback;
    const retryAfter = planned.retry_after ?? (status === 429 ? '1' : undefined);
    return { status, body, type: 'text/plain', retryAfter, delayMs: planned.delay_ms };
  }
  if (!attempt.slack_valid) return { status: 400, body: 'invalid_payload', type: 'text/plain' };
  return { status: 200, body: 'ok', type: 'text/plain' };
}

function onAttempt(req, res, path, query, raw) {
  const slack = path.startsWith('/slack/');
  const attempt = {
    path,
    query,
    method: req.method,
    headers: req.headers,
    body: raw.toString('utf8'),
    verified: false,
    verified_with: null,
    verify_error: null,
    slack_valid: null,
    answered: null,
    at: Date.now() / 1000,
  };
  if (slack) {
    attempt.slack_valid = slackShapeOk(raw);
  } else {
    Object.assign(attempt, verify(raw, req.headers));
  }
  const planned = nextPlanned(path);
  const a = slack ? answerSlack(attempt, planned) : answerWebhook(attempt, planned);
  attempt.answered = a.status;
  attempts.push(attempt);
  const extra = a.retryAfter !== undefined ? { 'retry-after': String(a.retryAfter) } : {};
  const reply = () => {
    if (!res.destroyed) send(res, a.status, a.body, a.type, extra);
  };
  if (a.delayMs) setTimeout(reply, a.delayMs);
  else reply();
}

function onControl(req, res, path, params, raw) {
  if (req.method === 'GET' && path === '/__health') return json(res, 200, { ok: true });
  if (req.method === 'GET' && path === '/__attempts') {
    const only = params.get('path');
    return json(res, 200, only === null ? attempts : attempts.filter((a) => a.path === only));
  }
  if (req.method !== 'POST') return json(res, 405, { error: 'method not allowed' });
  let body = {};
  try {
    body = raw.length ? JSON.parse(raw.toString('utf8')) : {};
  } catch {
    return json(res, 400, { error: 'body is not JSON' });
  }
  if (path === '/__plan') {
    if (typeof body.path !== 'string' || !Array.isArray(body.statuses)) {
      return json(res, 400, { error: 'expected {path, statuses: [...]}' });
    }
    plans.set(body.path, [...body.statuses]);
    return json(res, 200, { path: body.path, statuses: body.statuses });
  }
  if (path === '/__secrets') {
    if (!Array.isArray(body.secrets) || !body.secrets.every((s) => typeof s === 'string')) {
      return json(res, 400, { error: 'expected {secrets: ["whsec_…", …]}' });
    }
    for (const s of body.secrets) {
      try {
        new Webhook(s);
      } catch (err) {
        return json(res, 400, { error: `bad secret ${JSON.stringify(s)}: ${err.message}` });
      }
    }
    secrets = [...body.secrets];
    rejectUnverified = body.reject_unverified === true;
    return json(res, 200, { secrets: secrets.length, reject_unverified: rejectUnverified });
  }
  if (path === '/__reset') {
    attempts = [];
    plans = new Map();
    secrets = [];
    rejectUnverified = false;
    return json(res, 200, { ok: true });
  }
  return json(res, 404, { error: 'no such control endpoint' });
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const raw = Buffer.concat(chunks);
    const url = new URL(req.url, 'http://receiver.invalid');
    const path = url.pathname;
    try {
      if (path.startsWith('/__')) return onControl(req, res, path, url.searchParams, raw);
      if (req.method !== 'POST') return send(res, 405, 'POST only', 'text/plain');
      return onAttempt(req, res, path, url.search.slice(1), raw);
    } catch (err) {
      console.error(err);
      return json(res, 500, { error: String(err) });
    }
  });
});

await new Promise((resolve) => server.listen(Number(opts.port), '127.0.0.1', resolve));
process.stdout.write(`listening ${server.address().port}\n`);
