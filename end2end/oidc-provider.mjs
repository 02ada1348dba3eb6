// A certified OpenID Provider (panva's oidc-provider) for roster's single sign-on tests, on loopback only.
//   node oidc-provider.mjs PORT CONFIG.json
// PORT 0 lets the system pick a free port (no race with a port chosen beforehand); a restart passes the port it had.
// CONFIG: { client_id, client_secret, redirect_uri, post_logout_redirect_uri, accounts: { id: { email, email_verified,
// groups } } }. Each start signs with a new RSA key, so a restart is a key rotation. Accounts are read from the file
// at each sign-in, so a test can move an account between groups while the provider runs. Prints "ready PORT" once
// listening.
import Provider from 'oidc-provider';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';

const [port, configPath] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, 'utf8'));
const accounts = () => JSON.parse(fs.readFileSync(configPath, 'utf8')).accounts;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const key = { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'RS256', use: 'sig' };

// The issuer names the port, so the provider is made once the socket is bound.
let handle = (req, res) => { res.statusCode = 503; res.end(); };
const server = http.createServer((req, res) => handle(req, res));
server.on('error', (e) => { console.error(e); process.exit(1); });
server.listen(Number(port), '127.0.0.1', () => {
  const bound = server.address().port;
  const provider = new Provider(`http://127.0.0.1:${bound}`, {
    clients: [{
      client_id: config.client_id,
      client_secret: config.client_secret,
      redirect_uris: [config.redirect_uri],
      post_logout_redirect_uris: [config.post_logout_redirect_uri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: { keys: [key] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    // Consent is implied: the tests sign in, they do not approve scopes.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile groups');
      await grant.save();
      return grant;
    },
    async findAccount(ctx, id) {
      const account = accounts()[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...accounts()[id] }; } };
    },
  });
  handle = provider.callback();
  console.log(`ready ${bound}`);
});
