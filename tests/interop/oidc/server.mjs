// The node oidc-provider that trayauth's generic OAuth presets are tested against, unmodified:
// only its documented configuration is set here. It listens on 127.0.0.1 on a port the OS picks,
// prints one JSON line on stdout (issuer and the registered clients, secrets made fresh for each
// run), and serves until stdin closes or it gets SIGTERM, so a dead test run never leaves it behind.
import { randomBytes, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider from 'oidc-provider';

const secret = () => randomBytes(24).toString('base64url');
const loopback = ['http://127.0.0.1/callback']; // native clients: any port matches (RFC 8252 §7.3)
const DEVICE = 'urn:ietf:params:oauth:grant-type:device_code';

const clients = {
  public: {
    client_id: 'trayauth-public',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: loopback,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  confidential: {
    client_id: 'trayauth-confidential',
    client_secret: secret(),
    application_type: 'native',
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: loopback,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  },
  machine: {
    client_id: 'trayauth-machine',
    client_secret: secret(),
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [],
    grant_types: ['client_credentials'],
    response_types: [],
    scope: 'api:read',
  },
  device: {
    client_id: 'trayauth-device',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: [],
    grant_types: [DEVICE, 'refresh_token'],
    response_types: [],
  },
  // Reads tokens back at the introspection endpoint, so tests can ask the server what it thinks.
  inspector: {
    client_id: 'trayauth-test-inspector',
    client_secret: secret(),
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [],
    grant_types: [],
    response_types: [],
  },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: secret().slice(0, 12), use: 'sig', alg: 'RS256' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: Object.values(clients),
  jwks: { keys: [jwk] },
  cookies: { keys: [secret()] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'api:read'],
  claims: { openid: ['sub'], profile: ['name'], email: ['email'] },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub, name: sub, email: `${sub}@example.test` }) }),
  features: {
    devInteractions: { enabled: true }, // the login and consent pages the browser fills in
    deviceFlow: { enabled: true },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  ttl: { AccessToken: 600, ClientCredentials: 600, IdToken: 600, DeviceCode: 300, Interaction: 600 },
});
// The dev interactions warn on every start that they are not for production; they are what we test.
provider.on('server_error', (_ctx, err) => console.error('oidc-provider server_error:', err));
server.on('request', provider.callback());

const { version } = JSON.parse(readFileSync(new URL('./node_modules/oidc-provider/package.json', import.meta.url)));
process.stdout.write(`${JSON.stringify({ issuer, clients, version, node: process.version })}\n`);

const stop = () => server.close(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
