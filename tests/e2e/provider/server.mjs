// A real OpenID Connect provider (oidc-provider) and an emulator of the Anaconda API,
// for the end-to-end tests of anaconda-auth-async. Two HTTPS servers on 127.0.0.1, each
// on a free port, in one process:
//
//   auth: oidc-provider with a public native client, PKCE S256, authorization code,
//         refresh token and device code grants, RS256 ID tokens, JWT access tokens for
//         the API (resource indicators) and the built-in development login/consent pages.
//   api:  POST /api/iam/api-keys, GET /api/account, /local-login-success|error, and
//         test-only controls under /__e2e__/ (request log, revoke a key, mint a key).
//
// Configured by environment variables (see CONFIG below). When both servers listen it
// writes a JSON state file (ports, issuer) and the test fixture then polls discovery.
// It stops when its stdin closes (the test process went away), when its parent dies, on
// SIGTERM/SIGINT, or after E2E_MAX_LIFETIME seconds, whichever comes first.

import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';

import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const SDK_CLIENT_ID = 'b4ad7f1d-c784-46b5-a9fe-106e50441f5a';
const PANEL_CLIENT_ID = 'anaconda-auth-async-e2e-panel';

function env(name, fallback) {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

function required(name) {
  const value = env(name);
  if (value === undefined) {
    console.error(`e2e provider: environment variable ${name} is required`);
    process.exit(2);
  }
  return value;
}

const CONFIG = {
  tlsCert: required('E2E_TLS_CERT'), // PEM: server certificate (SAN IP:127.0.0.1), chain ok
  tlsKey: required('E2E_TLS_KEY'), // PEM: its private key
  caCert: required('E2E_CA_CERT'), // PEM: the CA, to fetch the provider's JWKS over TLS
  stateFile: required('E2E_STATE_FILE'), // written once both servers listen
  clientIds: env('E2E_CLIENT_IDS', SDK_CLIENT_ID).split(',').map((s) => s.trim()).filter(Boolean),
  accessTokenTtl: Number(env('E2E_ACCESS_TOKEN_TTL', '60')),
  apiKeyTtl: Number(env('E2E_API_KEY_TTL', String(365 * 24 * 3600))),
  deviceInterval: Number(env('E2E_DEVICE_INTERVAL', '1')),
  maxLifetime: Number(env('E2E_MAX_LIFETIME', '1800')),
  authPort: Number(env('E2E_AUTH_PORT', '0')),
  apiPort: Number(env('E2E_API_PORT', '0')),
};

const tls = { cert: readFileSync(CONFIG.tlsCert), key: readFileSync(CONFIG.tlsKey) };
const caPem = readFileSync(CONFIG.caCert);

// ---------------------------------------------------------------------------------------
// Users: the dev login form accepts any login; the login becomes the subject. A few known
// logins have full names, any other gets a derived one.

const KNOWN_USERS = {
  ada: { first_name: 'Ada', last_name: 'Lovelace' },
  grace: { first_name: 'Grace', last_name: 'Hopper' },
  noname: { first_name: '', last_name: '' },
};

function userFor(sub) {
  const known = KNOWN_USERS[sub];
  const local = sub.includes('@') ? sub.split('@')[0] : sub;
  return {
    id: `user-${Buffer.from(sub).toString('hex').slice(0, 24)}`,
    email: sub.includes('@') ? sub : `${sub}@example.com`,
    first_name: known ? known.first_name : local.charAt(0).toUpperCase() + local.slice(1),
    last_name: known ? known.last_name : 'Tester',
  };
}

// ---------------------------------------------------------------------------------------
// Small HTTP helpers.

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server.address().port));
  });
}

function readBody(req, limit = 1 << 20) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > limit) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res, status, body, headers = {}) {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(payload);
}

function sendHtml(res, status, html) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fetchJson(url) {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: caPem, timeout: 5000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`GET ${url}: HTTP ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
  });
}

function bearer(req) {
  const header = req.headers.authorization || '';
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match ? match[1] : undefined;
}

// ---------------------------------------------------------------------------------------
// Request logs: what each server received (method, path, headers). Tests read them to
// check the headers the SDK sends. Bodies are not kept.

const requestLog = { api: [], auth: [] };
const LOG_LIMIT = 2000;

function record(server, method, url, headers) {
  const entry = {
    server,
    method,
    path: url.split('?')[0],
    query: url.includes('?') ? url.slice(url.indexOf('?') + 1) : '',
    headers: { ...headers },
    time: Date.now() / 1000,
  };
  const log = requestLog[server];
  log.push(entry);
  if (log.length > LOG_LIMIT) log.splice(0, log.length - LOG_LIMIT);
}

// ---------------------------------------------------------------------------------------
// The servers: listen first (port 0 = a free port), then build the provider with the
// issuer that includes the actual port.

// POST /__e2e__/config {"date_offset": seconds}: both servers' Date header runs that far
// off (a skewed clock, as `anaconda-auth doctor` sees it); 0 restores the real time.
let dateOffset = 0;
function setDate(res) {
  if (dateOffset) res.setHeader('Date', new Date(Date.now() + dateOffset * 1000).toUTCString());
}

let authHandler = (req, res) => sendJson(res, 503, { error: 'starting' });
const authServer = https.createServer(tls, (req, res) => {
  setDate(res);
  authHandler(req, res);
});
const apiServer = https.createServer(tls, (req, res) => {
  setDate(res);
  apiHandler(req, res).catch((err) => {
    console.error('e2e api: unexpected error', err);
    if (!res.headersSent) sendJson(res, 500, { error: { code: 'server_error', message: String(err) } });
  });
});

const authPort = await listen(authServer, CONFIG.authPort);
const apiPort = await listen(apiServer, CONFIG.apiPort);
const issuer = `https://127.0.0.1:${authPort}`;
const apiOrigin = `https://127.0.0.1:${apiPort}`;
const apiResource = `${apiOrigin}/`;

// ---------------------------------------------------------------------------------------
// The OpenID Connect provider.

const { privateKey: idSigningKey } = await jose.generateKeyPair('RS256', {
  modulusLength: 2048,
  extractable: true,
});
const idSigningJwk = { ...(await jose.exportJWK(idSigningKey)), kid: `e2e-${randomUUID()}`, use: 'sig', alg: 'RS256' };

const configuration = {
  clients: CONFIG.clientIds.map((clientId) => ({
    client_id: clientId,
    client_name: 'anaconda-auth-async e2e',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    // Native clients: any port on a loopback host matches (RFC 8252 7.3; oidc-provider's
    // loopback rule). localhost for the SDK configured with it (a browser resolves it itself).
    redirect_uris: ['http://127.0.0.1:8000/auth/oidc', 'http://localhost:8000/auth/oidc'],
    grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
  })).concat([{
    // The Panel app of the Panel e2e test (anaconda_auth_async.panel): a public client
    // with PKCE, redirected to Panel's /login on any loopback port.
    client_id: PANEL_CLIENT_ID,
    client_name: 'anaconda-auth-async e2e Panel app',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1:5006/login', 'http://localhost:5006/login'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    id_token_signed_response_alg: 'RS256',
  }]),
  responseTypes: ['code'],
  jwks: { keys: [idSigningJwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'given_name', 'family_name'],
  },
  async findAccount(ctx, sub) {
    const user = userFor(sub);
    return {
      accountId: sub,
      async claims() {
        return {
          sub,
          email: user.email,
          email_verified: true,
          name: `${user.first_name} ${user.last_name}`.trim(),
          given_name: user.first_name,
          family_name: user.last_name,
        };
      },
    };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => apiResource,
      useGrantedResource: () => true,
      getResourceServerInfo(ctx, resourceIndicator) {
        if (resourceIndicator !== apiResource) throw new errors.InvalidTarget();
        return {
          scope: 'cloud:read cloud:write',
          audience: apiResource,
          accessTokenTTL: CONFIG.accessTokenTtl,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  // A native public client with the refresh_token grant gets a refresh token even when
  // offline_access was not granted (oidc-provider drops it without prompt=consent).
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  ttl: {
    AccessToken: CONFIG.accessTokenTtl,
    AuthorizationCode: 120,
    DeviceCode: 600,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 24 * 3600,
  },
};

const provider = new Provider(issuer, configuration);

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/__e2e__/')) record('auth', ctx.method, ctx.url, ctx.headers);
  await next();
  // RFC 8628 lets the server set the polling interval; a short one keeps the tests fast.
  if (ctx.path === '/device/auth' && ctx.status === 200 && ctx.body && typeof ctx.body === 'object') {
    ctx.body = { ...ctx.body, interval: CONFIG.deviceInterval };
  }
});

provider.on('server_error', (ctx, err) => console.error('e2e provider: server_error', err));

const providerCallback = provider.callback();
authHandler = (req, res) => {
  if (req.url.startsWith('/__e2e__/requests')) {
    handleLogControl('auth', req, res).catch((err) => sendJson(res, 500, { error: String(err) }));
    return;
  }
  providerCallback(req, res);
};

// ---------------------------------------------------------------------------------------
// The Anaconda API emulator.

const { privateKey: apiKeySigningKey, publicKey: apiKeyVerifyKey } = await jose.generateKeyPair('ES256');
const apiKeys = new Map(); // id -> { sub, scopes, tags, revoked, exp }
let providerJwks;

async function providerKeySet(forceRefresh = false) {
  if (!providerJwks || forceRefresh) {
    const discovery = await fetchJson(`${issuer}/.well-known/openid-configuration`);
    providerJwks = jose.createLocalJWKSet(await fetchJson(discovery.jwks_uri));
  }
  return providerJwks;
}

async function verifyAccessToken(token) {
  const options = { issuer, audience: apiResource, typ: 'at+jwt', algorithms: ['RS256'] };
  try {
    return (await jose.jwtVerify(token, await providerKeySet(), options)).payload;
  } catch (err) {
    if (err.code !== 'ERR_JWKS_NO_MATCHING_KEY') throw err;
    return (await jose.jwtVerify(token, await providerKeySet(true), options)).payload;
  }
}

async function mintApiKey({ sub, scopes, tags, expiresIn }) {
  const id = randomUUID();
  const now = Math.floor(Date.now() / 1000);
  const exp = now + expiresIn;
  const apiKey = await new jose.SignJWT({ scopes, ver: '2' })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'e2e-api-keys' })
    .setIssuer(apiOrigin)
    .setSubject(sub)
    .setJti(id)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(apiKeySigningKey);
  apiKeys.set(id, { id, sub, scopes, tags, revoked: false, exp });
  return { api_key: apiKey, expires_at: new Date(exp * 1000).toISOString(), id };
}

// The API key's record if it is one we issued, not revoked and not expired.
async function checkApiKey(apiKey) {
  try {
    const { payload } = await jose.jwtVerify(apiKey, apiKeyVerifyKey, { issuer: apiOrigin });
    const entry = apiKeys.get(payload.jti);
    if (!entry) return { error: 'unknown API key' };
    if (entry.revoked) return { error: 'the API key was revoked' };
    return { entry };
  } catch (err) {
    return { error: err.code === 'ERR_JWT_EXPIRED' ? 'the API key has expired' : 'invalid API key' };
  }
}

let minApiVersion; // set by POST /__e2e__/config; sent as the Min-Api-Version header

function apiHeaders() {
  return minApiVersion ? { 'min-api-version': minApiVersion } : {};
}

function authRequired(res, message) {
  sendJson(res, 401, { error: { code: 'auth_required', message } }, apiHeaders());
}

function page(title, body) {
  return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

async function handleLogControl(server, req, res) {
  if (req.method === 'GET') {
    sendJson(res, 200, requestLog[server]);
  } else if (req.method === 'DELETE') {
    requestLog[server].length = 0;
    sendJson(res, 200, { cleared: true });
  } else {
    sendJson(res, 405, { error: 'method not allowed' });
  }
}

async function handleControl(req, res, path) {
  if (path === '/__e2e__/requests') return handleLogControl('api', req, res);
  if (path === '/__e2e__/auth-requests') return handleLogControl('auth', req, res);
  if (req.method === 'GET' && path === '/__e2e__/info') {
    return sendJson(res, 200, {
      issuer, api_origin: apiOrigin, api_resource: apiResource, client_ids: CONFIG.clientIds,
      access_token_ttl: CONFIG.accessTokenTtl, device_interval: CONFIG.deviceInterval, pid: process.pid,
    });
  }
  if (req.method === 'GET' && path === '/__e2e__/keys') {
    return sendJson(res, 200, [...apiKeys.values()]);
  }
  if (req.method !== 'POST') return sendJson(res, 405, { error: 'method not allowed' });
  const body = JSON.parse((await readBody(req)) || '{}');
  if (path === '/__e2e__/keys/revoke') {
    let id = body.id;
    if (!id && body.api_key) id = jose.decodeJwt(body.api_key).jti;
    const entry = apiKeys.get(id);
    if (!entry) return sendJson(res, 404, { error: 'no such key' });
    entry.revoked = true;
    return sendJson(res, 200, { revoked: id });
  }
  if (path === '/__e2e__/keys/mint') {
    const minted = await mintApiKey({
      sub: body.sub || 'ada',
      scopes: body.scopes || ['cloud:read', 'cloud:write'],
      tags: body.tags || ['minted-by-test'],
      expiresIn: Number(body.expires_in ?? CONFIG.apiKeyTtl),
    });
    return sendJson(res, 201, minted);
  }
  if (path === '/__e2e__/config') {
    if ('min_api_version' in body) minApiVersion = body.min_api_version || undefined;
    if ('date_offset' in body) dateOffset = Number(body.date_offset) || 0;
    return sendJson(res, 200, { min_api_version: minApiVersion ?? null, date_offset: dateOffset });
  }
  return sendJson(res, 404, { error: 'no such control' });
}

async function apiHandler(req, res) {
  const path = req.url.split('?')[0];
  if (path.startsWith('/__e2e__/')) return handleControl(req, res, path);
  record('api', req.method, req.url, req.headers);

  if (path === '/api/iam/api-keys' && req.method === 'POST') {
    const token = bearer(req);
    if (!token) return authRequired(res, 'an access token is required');
    let claims;
    try {
      claims = await verifyAccessToken(token);
    } catch (err) {
      return authRequired(res, `the access token is not valid (${err.code || err.message})`);
    }
    let body = {};
    try {
      body = JSON.parse((await readBody(req)) || '{}');
    } catch {
      return sendJson(res, 422, { error: { code: 'invalid_body', message: 'the body is not JSON' } });
    }
    const minted = await mintApiKey({
      sub: claims.sub,
      scopes: Array.isArray(body.scopes) ? body.scopes : ['cloud:read', 'cloud:write'],
      tags: Array.isArray(body.tags) ? body.tags : [],
      expiresIn: CONFIG.apiKeyTtl,
    });
    return sendJson(res, 201, minted, apiHeaders());
  }

  if (path === '/api/account' && req.method === 'GET') {
    const apiKey = bearer(req);
    if (!apiKey) return authRequired(res, 'an API key is required');
    const { entry, error } = await checkApiKey(apiKey);
    if (error) return authRequired(res, error);
    const user = userFor(entry.sub);
    return sendJson(res, 200, {
      user,
      profile: { is_confirmed: true },
      subscriptions: [],
      organizations: [],
    }, apiHeaders());
  }

  if (path === '/local-login-success' && req.method === 'GET') {
    return sendHtml(res, 200, page('Login successful', '<p>You are logged in. You can close this window.</p>'));
  }
  if (path === '/local-login-error' && req.method === 'GET') {
    return sendHtml(res, 200, page('Login failed', '<p>The login did not complete. Return to your terminal.</p>'));
  }
  return sendJson(res, 404, { error: { code: 'not_found', message: `no route ${req.method} ${path}` } }, apiHeaders());
}

// ---------------------------------------------------------------------------------------
// Ready: write the state file atomically; then make sure this process never outlives
// the tests.

const state = {
  pid: process.pid,
  issuer,
  auth_port: authPort,
  api_port: apiPort,
  api_origin: apiOrigin,
  api_resource: apiResource,
  client_ids: CONFIG.clientIds,
};
writeFileSync(`${CONFIG.stateFile}.tmp`, JSON.stringify(state));
renameSync(`${CONFIG.stateFile}.tmp`, CONFIG.stateFile);
console.log(`e2e provider: auth ${issuer} api ${apiOrigin} pid ${process.pid}`);

function shutdown(reason) {
  console.log(`e2e provider: stopping (${reason})`);
  authServer.closeAllConnections?.();
  apiServer.closeAllConnections?.();
  authServer.close();
  apiServer.close();
  setTimeout(() => process.exit(0), 200).unref();
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.stdin.on('end', () => shutdown('stdin closed'));
process.stdin.on('error', () => shutdown('stdin error'));
process.stdin.resume();
const parentPid = process.ppid;
setInterval(() => {
  try {
    process.kill(parentPid, 0);
  } catch {
    shutdown('parent exited');
  }
}, 1000).unref();
setTimeout(() => shutdown('max lifetime reached'), CONFIG.maxLifetime * 1000).unref();
