// A real OpenID Provider (npm oidc-provider 9.x) for Gatehouse's end-to-end SSO tests.
//
//   node tests/e2e/idp/oidc_op.mjs --port P [--parent-pid PID]
//
// Issuer http://127.0.0.1:P (P may be 0: the chosen port is printed as the only stdout line,
// "listening http://127.0.0.1:P"). Authorization code flow only, PKCE S256 required, ID tokens
// RS256 by default (ES256 per client), userinfo on. There are no pages: every authorization
// request runs an interaction that logs in the current identity (or the identity whose email is
// the login_hint) and grants the requested scopes, then redirects back, so following redirects
// from the authorization URL ends at the client's redirect_uri with code and state.
//
// Control endpoints (JSON, loopback peers only):
//   POST /__control/client   {client_id, client_secret, redirect_uris: [..],
//                             id_token_signed_response_alg?: "RS256"|"ES256",
//                             token_endpoint_auth_method?: "client_secret_basic"|"client_secret_post"}
//                            registers or replaces a confidential client; without
//                            token_endpoint_auth_method both basic and post are accepted.
//   POST /__control/identity {email, name?, given_name?, family_name?, groups?: [..],
//                             email_verified?: bool, sub?: str}  the identity for following logins.
//   GET  /__control/state    what the OP holds (clients, current identity), for debugging.
//
// Exits with 0 on SIGTERM/SIGINT, and by itself when its parent process dies.
import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

// stdout carries the one "listening" line and nothing else: whatever the library logs goes to
// stderr.
console.log = console.error;
console.info = console.error;

// oidc-provider 9 warns at import time that Node 20 is not a supported LTS (it works): drop
// just that line, before the dynamic import below.
const warn = console.warn.bind(console);
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('Unsupported runtime')) return;
  warn(...args);
};
const { default: Provider, interactionPolicy } = await import('oidc-provider');

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_OP_PORT || '0' },
    host: { type: 'string', default: '127.0.0.1' },
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
const clients = new Map(); // client_id -> registration
const accounts = new Map(); // sub -> identity
let current = null; // the identity that logs in when no login_hint names another

function subFor(email) {
  return `sub-${crypto.createHash('sha256').update(email.toLowerCase()).digest('hex').slice(0, 20)}`;
}

function setIdentity(body) {
  if (typeof body.email !== 'string' || !body.email) throw new Error('email is required');
  const ident = {
    sub: typeof body.sub === 'string' && body.sub ? body.sub : subFor(body.email),
    email: body.email,
    email_verified: body.email_verified === undefined ? true : Boolean(body.email_verified),
    name: body.name || '',
    given_name: body.given_name || '',
    family_name: body.family_name || '',
    groups: Array.isArray(body.groups) ? body.groups.map(String) : [],
  };
  accounts.set(ident.sub, ident);
  current = ident;
  return ident;
}

function identityFor(loginHint) {
  if (loginHint) {
    for (const ident of accounts.values()) {
      if (ident.email.toLowerCase() === loginHint.toLowerCase()) return ident;
    }
    // An unknown hinted email still logs in, with only what the hint says.
    const ident = {
      sub: subFor(loginHint), email: loginHint, email_verified: true, name: '', given_name: '', family_name: '', groups: [],
    };
    accounts.set(ident.sub, ident);
    return ident;
  }
  if (!current) throw new Error('no identity set: POST /__control/identity first');
  return current;
}

// Clients come from this adapter rather than static configuration so that tests can add and
// replace them at run time. The token endpoint authentication method follows the request: a
// Basic Authorization header means client_secret_basic, anything else client_secret_post.
function clientMetadata(id) {
  const c = clients.get(id);
  if (!c) return undefined;
  let method = c.token_endpoint_auth_method;
  if (!method) {
    const authz = Provider.ctx?.get('authorization') || '';
    method = /^basic /i.test(authz) || !Provider.ctx ? 'client_secret_basic' : 'client_secret_post';
  }
  return {
    client_id: c.client_id,
    client_secret: c.client_secret,
    redirect_uris: c.redirect_uris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: method,
    id_token_signed_response_alg: c.id_token_signed_response_alg || 'RS256',
  };
}

const store = new Map();
const grantIndex = new Map(); // grantId -> Set of keys
const epoch = () => Math.floor(Date.now() / 1000);

class MemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    store.set(key, { payload, exp: expiresIn ? epoch() + expiresIn : undefined });
    if (payload.grantId) {
      if (!grantIndex.has(payload.grantId)) grantIndex.set(payload.grantId, new Set());
      grantIndex.get(payload.grantId).add(key);
    }
    if (payload.uid) store.set(`uid:${this.model}:${payload.uid}`, { payload: id });
    if (payload.userCode) store.set(`userCode:${payload.userCode}`, { payload: id });
  }

  async find(id) {
    if (this.model === 'Client') return clientMetadata(id);
    const entry = store.get(this.key(id));
    if (!entry) return undefined;
    if (entry.exp !== undefined && entry.exp < epoch()) {
      store.delete(this.key(id));
      return undefined;
    }
    return entry.payload;
  }

  async findByUid(uid) {
    const ref = store.get(`uid:${this.model}:${uid}`);
    return ref ? this.find(ref.payload) : undefined;
  }

  async findByUserCode(userCode) {
    const ref = store.get(`userCode:${userCode}`);
    return ref ? this.find(ref.payload) : undefined;
  }

  async consume(id) {
    const entry = store.get(this.key(id));
    if (entry) entry.payload.consumed = epoch();
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantIndex.get(grantId) || []) store.delete(key);
    grantIndex.delete(grantId);
  }
}

// ---------------------------------------------------------------- provider
function signingKeys() {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const tag = crypto.randomBytes(4).toString('hex');
  return {
    keys: [
      { ...rsa, kid: `rs256-${tag}`, use: 'sig', alg: 'RS256' },
      { ...ec, kid: `es256-${tag}`, use: 'sig', alg: 'ES256' },
    ],
  };
}

// Every authorization request logs in afresh (the test identity may have changed since the last
// one), unless it is the resumption of the interaction that just did.
const policy = interactionPolicy.base();
policy.get('login').checks.add(new interactionPolicy.Check(
  'gatehouse_test_fresh_login',
  'every authorization logs in as the current test identity',
  (ctx) => (ctx.oidc.result?.login ? interactionPolicy.Check.NO_NEED_TO_PROMPT
    : interactionPolicy.Check.REQUEST_PROMPT),
));

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 1 << 20) {
        reject(new Error('body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isLoopback(addr) {
  return addr === '::1' || /^(::ffff:)?127\./.test(addr || '');
}

async function control(ctx) {
  if (!isLoopback(ctx.req.socket.remoteAddress)) {
    ctx.status = 403;
    ctx.body = { error: 'control endpoints answer loopback peers only' };
    return;
  }
  const route = `${ctx.method} ${ctx.path}`;
  try {
    if (route === 'GET /__control/state') {
      ctx.body = { issuer: provider.issuer, clients: [...clients.values()], identity: current };
      return;
    }
    const raw = ctx.method === 'POST' ? await readBody(ctx.req) : '';
    const body = raw ? JSON.parse(raw) : {};
    if (route === 'POST /__control/identity') {
      ctx.body = { ok: true, identity: setIdentity(body) };
    } else if (route === 'POST /__control/client') {
      if (!body.client_id || !body.client_secret || !Array.isArray(body.redirect_uris)
          || !body.redirect_uris.length) {
        throw new Error('client_id, client_secret and redirect_uris are required');
      }
      const c = {
        client_id: String(body.client_id),
        client_secret: String(body.client_secret),
        redirect_uris: body.redirect_uris.map(String),
        id_token_signed_response_alg: body.id_token_signed_response_alg || 'RS256',
        token_endpoint_auth_method: body.token_endpoint_auth_method || undefined,
      };
      if (!['RS256', 'ES256'].includes(c.id_token_signed_response_alg)) {
        throw new Error('id_token_signed_response_alg must be RS256 or ES256');
      }
      clients.set(c.client_id, c);
      ctx.body = { ok: true, client: c };
    } else {
      ctx.status = 404;
      ctx.body = { error: `no control route ${route}` };
    }
  } catch (err) {
    ctx.status = 400;
    ctx.body = { error: String(err.message || err) };
  }
}

// Finishes an interaction without a page: log in (when asked) and grant what was requested.
async function interaction(ctx) {
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  const result = {};
  let accountId = details.session?.accountId;
  let grant;
  if (prompt.name === 'login') {
    const ident = identityFor(params.login_hint);
    if (details.session?.accountId && details.session.accountId !== ident.sub) {
      // Another account is signed in with this browser. oidc-provider would answer the resume
      // with an auto-posted logout confirmation page; end that session here instead, so that
      // the flow stays plain redirects.
      const old = await provider.Session.findByUid(details.session.uid);
      if (old) await old.destroy();
      delete details.session;
      await details.save(details.exp - epoch());
    }
    accountId = ident.sub;
    result.login = { accountId };
  } else if (details.grantId) {
    grant = await provider.Grant.find(details.grantId);
  }
  grant ||= new provider.Grant({ accountId, clientId: params.client_id });
  if (params.scope) grant.addOIDCScope(params.scope);
  const missingClaims = prompt.details?.missingOIDCClaims;
  if (Array.isArray(missingClaims) && missingClaims.length) grant.addOIDCClaims(missingClaims);
  result.consent = { grantId: await grant.save() };
  const redirectTo = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.redirect(redirectTo);
  ctx.status = 303;
}

const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(opts.port), opts.host, resolve);
});
const { port } = server.address();
const issuer = `http://${opts.host}:${port}`;

const provider = new Provider(issuer, {
  adapter: MemoryAdapter,
  jwks: signingKeys(),
  responseTypes: ['code'],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
    groups: ['groups'],
  },
  // Claims of the granted scopes go into the ID token too, not only to userinfo.
  conformIdTokenClaims: false,
  clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
  interactions: {
    policy,
    url: (ctx, i) => `/interaction/${i.uid}`,
  },
  cookies: {
    // Distinct per port: the tests' requests.Session shares one cookie jar with Gatehouse and
    // with other OPs on 127.0.0.1.
    names: {
      session: `op${port}_session`,
      interaction: `op${port}_interaction`,
      resume: `op${port}_resume`,
    },
    keys: [crypto.randomBytes(32).toString('hex')],
  },
  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    resourceIndicators: { enabled: false },
    rpInitiatedLogout: { enabled: false },
    pushedAuthorizationRequests: { enabled: false },
  },
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 120,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  findAccount: async (ctx, sub) => {
    const ident = accounts.get(sub);
    if (!ident) return undefined;
    return {
      accountId: sub,
      async claims() {
        const out = { sub, email: ident.email, email_verified: ident.email_verified, groups: ident.groups };
        for (const k of ['name', 'given_name', 'family_name']) if (ident[k]) out[k] = ident[k];
        return out;
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/__control/')) return control(ctx);
  if (ctx.method === 'GET' && /^\/interaction\/[^/]+$/.test(ctx.path)) return interaction(ctx);
  return next();
});

server.on('request', provider.callback());
process.stdout.write(`listening ${issuer}\n`);
