// A real OpenID Connect provider for the single sign-on tests: node-oidc-provider on
// 127.0.0.1, configured from a JSON file the test writes (clients and accounts with their
// groups). Prints "ready" once it listens.
//
// Sign-in is scripted, not typed: POST /__control {"login": "alice"} names who signs in at
// the next authorisation; the interaction finishes at once with that account (and the amr
// the account lists). The same endpoint turns on one way of spoiling the next ID token the
// token endpoint issues, so the tests can show the client refuses each:
//   expired, audience, azp, issuer, nonce: re-signed with the provider's own key, one claim wrong
//   signature: signed with another key under the provider's key id
//   rotated: signed with a new key, which the provider's JWKS then publishes beside the old
import http from 'node:http';
import { readFileSync } from 'node:fs';

import * as jose from 'jose';
import Provider from 'oidc-provider';

const [port, configPath] = [Number(process.argv[2]), process.argv[3]];
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const issuer = `http://127.0.0.1:${port}`;

async function key(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return { privateKey, jwk, pub };
}

const current = await key('k1');
const rogue = await key('k1');
const next = await key('k2');
let rotated = false;
let nextLogin = null;
let spoil = null;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys: [current.jwk] },
  cookies: { keys: ['fitsflow-test-provider-cookie-key'] },
  findAccount: async (ctx, id) => {
    const account = config.accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id, ...account.claims, amr: account.amr || ['pwd'], ...(account.acr ? { acr: account.acr } : {}),
      }),
    };
  },
  claims: {
    // amr and acr in every ID token, as Microsoft Entra ID sends amr
    openid: ['sub', 'amr', 'acr'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
  },
  conformIdTokenClaims: false, // the requested claims in the ID token itself, as Google and Entra do
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true },
  },
  pkce: { required: () => true },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: { IdToken: 3600, AccessToken: 3600, AuthorizationCode: 60, Session: 3600, Interaction: 600, Grant: 3600 },
});
provider.proxy = false;

async function spoilt(idToken) {
  const claims = jose.decodeJwt(idToken);
  const now = Math.floor(Date.now() / 1000);
  let signer = current;
  if (spoil === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (spoil === 'audience') claims.aud = 'some-other-client';
  if (spoil === 'azp') Object.assign(claims, { aud: ['some-other-client'], azp: claims.aud });
  if (spoil === 'issuer') claims.iss = 'http://127.0.0.1:1/';
  if (spoil === 'nonce') claims.nonce = 'not-the-nonce-sent';
  if (spoil === 'signature') signer = rogue;
  if (spoil === 'rotated') { signer = next; rotated = true; }
  return new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: signer.jwk.kid, typ: 'JWT' })
    .sign(signer.privateKey);
}

provider.use(async (ctx, nextMiddleware) => {
  await nextMiddleware();
  if (ctx.path === '/token' && spoil && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: await spoilt(ctx.body.id_token) };
    spoil = null;
  }
  if (ctx.path === '/jwks' && rotated) {
    ctx.body = { keys: [current.pub, next.pub] };
  }
});

const callback = provider.callback();

async function finishInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const accountId = nextLogin;
  if (!accountId || !config.accounts[accountId]) {
    res.writeHead(400, { 'content-type': 'text/plain' });
    res.end('no login scripted');
    return;
  }
  const grant = new provider.Grant({ accountId, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  const account = config.accounts[accountId];
  const login = { accountId, amr: account.amr || ['pwd'] };
  if (account.acr) login.acr = account.acr;
  await provider.interactionFinished(req, res, { login, consent: { grantId } },
    { mergeWithLastSubmission: false });
}

function readBody(req) {
  return new Promise((resolve) => {
    let data = '';
    req.on('data', (chunk) => { data += chunk; });
    req.on('end', () => resolve(data));
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/__control' && req.method === 'POST') {
      const body = JSON.parse((await readBody(req)) || '{}');
      if ('login' in body) nextLogin = body.login;
      if ('spoil' in body) spoil = body.spoil;
      if ('accounts' in body) Object.assign(config.accounts, body.accounts);
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname.startsWith('/interaction/')) {
      await finishInteraction(req, res);
      return;
    }
    callback(req, res);
  } catch (err) {
    res.writeHead(500, { 'content-type': 'text/plain' });
    res.end(String(err && err.stack));
  }
});

server.listen(port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
