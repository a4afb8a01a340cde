// server.mjs: a foreign OpenID4VCI issuer and OpenID4VP verifier built on
// npm libraries (@openid4vc/oauth2, @openid4vc/openid4vci,
// @openid4vc/openid4vp, @sd-jwt/sd-jwt-vc, jose), on 127.0.0.1.
//
// It serves two issuers, /a and /b, each with its own ES256 key, and one
// verifier. On start it prints one JSON line:
//   {"url": "http://127.0.0.1:port", "issuers": {"a": {"url", "jwk"}, "b": {...}}}
// The test drives it through a small admin API:
//   POST /admin/offers   {issuer, vct, claims}            -> {offer_uri, tx_code}
//   POST /admin/requests {dcql_query, client_id_prefix?, response_mode?, x509?} -> {id, request_uri}
//   POST /admin/results  {id}                             -> the verification result
import http from 'node:http';
import crypto from 'node:crypto';
import { Oauth2AuthorizationServer } from '@openid4vc/oauth2';
import { Openid4vciIssuer } from '@openid4vc/openid4vci';
import { Openid4vpVerifier } from '@openid4vc/openid4vp';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import * as jose from 'jose';
import * as lib from './lib.mjs';

const keys = {};
const decryptionKeys = [];
// --ca FILE: trust this CA for x5c issuer headers (HAIP); without it the
// verifier takes issuer keys from JWT VC Issuer Metadata only.
const caArg = process.argv.indexOf('--ca');
const roots = caArg > 0 ? lib.loadRoots(process.argv[caArg + 1]) : null;
const cb = lib.callbacks({ keys, decryptionKeys });
const as = new Oauth2AuthorizationServer({ callbacks: cb });
const vci = new Openid4vciIssuer({ callbacks: cb });
const vp = new Openid4vpVerifier({ callbacks: cb });

const VCI_PRE = 'urn:ietf:params:oauth:grant-type:pre-authorized_code';
// The credential configurations each issuer offers: its own identity
// type, and Tong's citizen identity type (which no foreign issuer is
// accredited for).
const CONFIGS = { identity: 'urn:foreign:vct:identity:1', 'citizen-identity': 'urn:tong:vct:citizen-identity:1' };
const issuers = {};
const offers = new Map(); // pre-authorized code -> {issuer, vct, claims, tx_code, used}
const tokens = new Map(); // access token -> offer
const nonces = new Map(); // c_nonce -> expiry
const requests = new Map(); // request id -> {payload, result, jar}
let base;

function issuerMetadata(slug) {
  const iss = `${base}/${slug}`;
  const credentialIssuer = vci.createCredentialIssuerMetadata({
    credential_issuer: iss,
    credential_endpoint: `${iss}/credential`,
    nonce_endpoint: `${iss}/nonce`,
    display: [{ name: `Foreign issuer ${slug}`, locale: 'en' }],
    credential_configurations_supported: Object.fromEntries(
      Object.entries(CONFIGS).map(([id, vct]) => [
        id,
        {
          format: 'dc+sd-jwt',
          vct,
          cryptographic_binding_methods_supported: ['jwk'],
          credential_signing_alg_values_supported: ['ES256'],
          proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } },
          credential_metadata: { display: [{ name: `Foreign ${id}`, locale: 'en' }] },
        },
      ]),
    ),
  });
  const authorizationServer = as.createAuthorizationServerMetadata({
    issuer: iss,
    token_endpoint: `${iss}/token`,
    'pre-authorized_grant_anonymous_access_supported': true,
  });
  return {
    originalDraftVersion: 'v1',
    credentialIssuer,
    authorizationServers: [authorizationServer],
    knownCredentialConfigurations: vci.getKnownCredentialConfigurationsSupported(credentialIssuer),
  };
}

async function newOffer({ issuer, vct, claims }) {
  const md = issuerMetadata(issuer);
  const code = lib.b64u(crypto.randomBytes(24));
  const tx_code = String(crypto.randomInt(0, 1e6)).padStart(6, '0');
  const config = Object.keys(CONFIGS).find((id) => CONFIGS[id] === vct);
  if (!config) throw oauth('invalid_request', `no configuration for vct ${vct}`);
  offers.set(code, { issuer, vct, claims, tx_code, used: false });
  const { credentialOffer } = await vci.createCredentialOffer({
    issuerMetadata: md,
    credentialConfigurationIds: [config],
    grants: { [VCI_PRE]: { 'pre-authorized_code': code, tx_code: { input_mode: 'numeric', length: 6 } } },
    credentialOfferScheme: 'openid-credential-offer://',
  });
  return { offer_uri: credentialOffer, tx_code };
}

async function token(slug, req, form) {
  const md = issuerMetadata(slug);
  const request = { method: req.method, url: `${base}${req.url}`, headers: new Headers(req.headers) };
  const parsed = as.parseAccessTokenRequest({ request, accessTokenRequest: form });
  if (parsed.grant.grantType !== VCI_PRE) throw oauth('unsupported_grant_type', 'only the pre-authorized code grant');
  const o = offers.get(parsed.grant.preAuthorizedCode);
  if (!o || o.used || o.issuer !== slug) throw oauth('invalid_grant', 'unknown or used pre-authorized code');
  await as.verifyPreAuthorizedCodeAccessTokenRequest({
    authorizationServerMetadata: md.authorizationServers[0],
    grant: parsed.grant,
    accessTokenRequest: parsed.accessTokenRequest,
    request,
    expectedPreAuthorizedCode: parsed.grant.preAuthorizedCode,
    expectedTxCode: o.tx_code,
  });
  o.used = true;
  const k = issuers[slug].key;
  const res = await as.createAccessTokenResponse({
    authorizationServer: md.authorizationServers[0].issuer,
    audience: md.credentialIssuer.credential_issuer,
    subject: lib.b64u(crypto.randomBytes(12)),
    signer: { method: 'jwk', publicJwk: k.publicJwk, alg: 'ES256' },
    expiresInSeconds: 300,
  });
  tokens.set(res.access_token, o);
  return res;
}

async function credential(slug, req, body) {
  const auth = req.headers.authorization || '';
  const o = tokens.get(auth.replace(/^Bearer /, ''));
  if (!o || o.issuer !== slug) throw oauth('invalid_token', 'unknown access token', 401);
  const md = issuerMetadata(slug);
  const creq = vci.parseCredentialRequest({ issuerMetadata: md, credentialRequest: body });
  const jwts = creq.proofs?.jwt || (creq.proof?.jwt ? [creq.proof.jwt] : []);
  if (jwts.length === 0) throw oauth('invalid_proof', 'no jwt proof');
  const k = issuers[slug].key;
  const sd = new SDJwtVcInstance({ hasher: lib.hasher, saltGenerator: lib.saltGenerator, signer: lib.sdSigner(k.privateKey), signAlg: 'ES256' });
  const credentials = [];
  for (const jwt of jwts) {
    const nonce = lib.decodeJwtPart(jwt, 1).nonce;
    const exp = nonces.get(nonce);
    if (!exp) throw oauth('invalid_nonce', 'unknown c_nonce');
    const proof = await vci.verifyCredentialRequestJwtProof({ issuerMetadata: md, jwt, expectedNonce: nonce, nonceExpiresAt: exp });
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: md.credentialIssuer.credential_issuer, vct: o.vct, iat: now, exp: now + 86400, cnf: { jwk: proof.signer.publicJwk }, ...o.claims };
    const frame = { _sd: Object.keys(o.claims).filter((c) => typeof o.claims[c] !== 'object') };
    for (const [c, v] of Object.entries(o.claims)) {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        frame[c] = { _sd: Object.keys(v) };
        frame._sd.push(c);
      }
    }
    credentials.push({ credential: await sd.issue(payload, frame, { header: { typ: 'dc+sd-jwt', kid: k.publicJwk.kid } }) });
  }
  for (const jwt of jwts) nonces.delete(lib.decodeJwtPart(jwt, 1).nonce);
  return vci.createCredentialResponse({ credentialRequest: creq, credentials });
}

// newRequest makes an OpenID4VP request for Tong's wallet.
async function newRequest({ dcql_query, client_id_prefix = 'redirect_uri', response_mode = 'direct_post', x509 }) {
  const id = lib.b64u(crypto.randomBytes(12));
  const response_uri = `${base}/verifier/response/${id}`;
  const nonce = lib.b64u(crypto.randomBytes(24));
  const state = lib.b64u(crypto.randomBytes(12));
  const client_metadata = { vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] } } };
  if (response_mode === 'direct_post.jwt') {
    const { publicKey, privateKey } = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true });
    const publicJwk = { ...(await jose.exportJWK(publicKey)), kid: `enc-${id}`, use: 'enc', alg: 'ECDH-ES' };
    decryptionKeys.push({ privateKey, publicJwk });
    client_metadata.jwks = { keys: [publicJwk] };
    client_metadata.encrypted_response_enc_values_supported = ['A128GCM', 'A256GCM'];
  }
  let client_id;
  let jar;
  if (client_id_prefix === 'redirect_uri') {
    client_id = `redirect_uri:${response_uri}`;
  } else if (client_id_prefix === 'x509_hash') {
    // x509: {chain: [base64 DER...], key: private JWK} from the city CA.
    const leaf = Buffer.from(x509.chain[0], 'base64');
    client_id = `x509_hash:${lib.b64u(crypto.createHash('sha256').update(leaf).digest())}`;
    const privateKey = await jose.importJWK(x509.key, 'ES256');
    keys[`x5c-${id}`] = { privateKey, publicJwk: x509.key };
    // The library's default aud is the request_uri; OpenID4VP 1.0 §5.8
    // requires https://self-issued.me/v2 under static discovery (and
    // Tong's wallet enforces it), so it is set here.
    jar = {
      jwtSigner: { method: 'x5c', x5c: x509.chain, alg: 'ES256', kid: `x5c-${id}` },
      requestUri: `${base}/verifier/requests/${id}`,
      additionalJwtPayload: { aud: 'https://self-issued.me/v2' },
    };
  } else {
    throw new Error(`unsupported client_id_prefix ${client_id_prefix}`);
  }
  const payload = { response_type: 'vp_token', client_id, response_uri, response_mode, nonce, state, dcql_query, client_metadata };
  const out = await vp.createOpenId4vpAuthorizationRequest({ authorizationRequestPayload: payload, jar, scheme: 'openid4vp://' });
  requests.set(id, { payload, result: null, jar: out.jar });
  return { id, request_uri: out.authorizationRequest, client_id };
}

// verifyResponse checks an OpenID4VP response with @openid4vc/openid4vp
// and every presentation with @sd-jwt/sd-jwt-vc: issuer signature (JWT VC
// Issuer Metadata key), status list, KB-JWT (nonce, aud, sd_hash).
async function verifyResponse(id, form) {
  const r = requests.get(id);
  if (!r) throw oauth('invalid_request', 'unknown request', 404);
  const parsed = await vp.parseOpenid4vpAuthorizationResponse({
    authorizationResponse: form,
    authorizationRequestPayload: r.payload,
    callbacks: cb,
  });
  const validated = vp.validateOpenid4vpAuthorizationResponsePayload({
    authorizationRequestPayload: r.payload,
    authorizationResponsePayload: parsed.authorizationResponsePayload,
  });
  const result = { verified: true, response_mode: r.payload.response_mode, encrypted: !!parsed.jarm, credentials: {} };
  for (const [qid, presentations] of Object.entries(validated.dcql?.presentations || {})) {
    for (const p of presentations) {
      const sdjwt = typeof p === 'string' ? p : p.presentation;
      const iss = lib.decodeJwtPart(sdjwt.split('~')[0], 1).iss;
      const hdr = lib.decodeJwtPart(sdjwt.split('~')[0], 0);
      let issuerKeys;
      let x5cVerified = false;
      if (hdr.x5c && roots) {
        // SD-JWT VC: the key of the end-entity certificate, whose chain
        // reaches the trusted CA and which names the issuer.
        issuerKeys = [lib.x5cLeafJwk(hdr.x5c, roots)];
        const leaf = new crypto.X509Certificate(Buffer.from(hdr.x5c[0], 'base64'));
        if (!(leaf.subjectAltName || '').split(', ').includes(`URI:${iss}`)) throw new Error(`the x5c certificate does not name ${iss}`);
        x5cVerified = true;
      } else {
        issuerKeys = await lib.jwtVcIssuerKeys(iss);
      }
      const sd = new SDJwtVcInstance({
        hasher: lib.hasher,
        verifier: (data, sig) => {
          const h = lib.decodeJwtPart(data, 0);
          const k = issuerKeys.find((k) => !h.kid || k.kid === h.kid) || issuerKeys[0];
          return lib.verifyES256(k, data, sig);
        },
        kbVerifier: (data, sig, payload) => lib.verifyES256(payload.cnf.jwk, data, sig),
      });
      const v = await sd.verify(sdjwt, { keyBindingNonce: r.payload.nonce });
      if (v.kb.payload.aud !== r.payload.client_id) throw new Error(`KB-JWT aud ${v.kb.payload.aud} is not ${r.payload.client_id}`);
      const { _sd, _sd_alg, cnf, iss: _i, iat, exp, nbf, status, vct, ...claims } = v.payload;
      result.credentials[qid] = { iss, vct, typ: v.header.typ, x5c: !!v.header.x5c, x5c_verified: x5cVerified, status: !!status, claims };
    }
  }
  return result;
}

function oauth(error, error_description, status = 400) {
  const e = new Error(error_description);
  e.oauth = { error, error_description };
  e.status = status;
  return e;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString('utf8');
  if ((req.headers['content-type'] || '').startsWith('application/x-www-form-urlencoded')) {
    return Object.fromEntries(new URLSearchParams(raw));
  }
  return raw ? JSON.parse(raw) : {};
}

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

const server = http.createServer(async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  let m;
  try {
    if (req.method === 'GET' && (m = path.match(/^\/\.well-known\/openid-credential-issuer\/(a|b)$/))) {
      return send(res, 200, issuerMetadata(m[1]).credentialIssuer);
    }
    if (req.method === 'GET' && (m = path.match(/^\/\.well-known\/oauth-authorization-server\/(a|b)$/))) {
      return send(res, 200, issuerMetadata(m[1]).authorizationServers[0]);
    }
    if (req.method === 'GET' && (m = path.match(/^\/\.well-known\/jwt-vc-issuer\/(a|b)$/))) {
      return send(res, 200, { issuer: `${base}/${m[1]}`, jwks: { keys: [issuers[m[1]].key.publicJwk] } });
    }
    if (req.method === 'POST' && (m = path.match(/^\/(a|b)\/token$/))) {
      return send(res, 200, await token(m[1], req, await readBody(req)));
    }
    if (req.method === 'POST' && (m = path.match(/^\/(a|b)\/nonce$/))) {
      const c_nonce = lib.b64u(crypto.randomBytes(24));
      nonces.set(c_nonce, new Date(Date.now() + 300e3));
      return send(res, 200, vci.createNonceResponse({ cNonce: c_nonce, cNonceExpiresIn: 300 }));
    }
    if (req.method === 'POST' && (m = path.match(/^\/(a|b)\/credential$/))) {
      return send(res, 200, await credential(m[1], req, await readBody(req)));
    }
    if ((m = path.match(/^\/verifier\/requests\/([\w-]+)$/))) {
      const r = requests.get(m[1]);
      if (!r || !r.jar) return send(res, 404, { error: 'invalid_request' });
      return send(res, 200, r.jar.authorizationRequestJwt, 'application/oauth-authz-req+jwt');
    }
    if (req.method === 'POST' && (m = path.match(/^\/verifier\/response\/([\w-]+)$/))) {
      const r = requests.get(m[1]);
      const form = await readBody(req);
      try {
        r.result = await verifyResponse(m[1], form);
      } catch (e) {
        if (r) r.result = { verified: false, error: String(e.message || e) };
        throw e.oauth ? e : oauth('invalid_request', String(e.message || e));
      }
      return send(res, 200, {});
    }
    if (req.method === 'POST' && path === '/admin/offers') return send(res, 200, await newOffer(await readBody(req)));
    if (req.method === 'POST' && path === '/admin/requests') return send(res, 200, await newRequest(await readBody(req)));
    if (req.method === 'POST' && path === '/admin/results') {
      const r = requests.get((await readBody(req)).id);
      return send(res, 200, r?.result || { verified: false, error: 'no response yet' });
    }
    send(res, 404, { error: 'not_found' });
  } catch (e) {
    if (!e.oauth) process.stderr.write(`${req.method} ${path}: ${e.stack || e}\n`);
    const body = e.oauth || e.errorResponse || { error: 'invalid_request', error_description: String(e.message || e) };
    send(res, e.status || e.statusCode || 400, body);
  }
});

server.listen(0, '127.0.0.1', async () => {
  base = `http://127.0.0.1:${server.address().port}`;
  const out = {};
  // FOREIGN_ISSUER_KEYS: {"b": private JWK} gives an issuer a key the
  // test made (so that the test can register it in did:tong).
  const given = JSON.parse(process.env.FOREIGN_ISSUER_KEYS || '{}');
  for (const slug of ['a', 'b']) {
    const k = given[slug] ? await lib.importKey(given[slug]) : await lib.newKey();
    k.publicJwk.kid = `key-${slug}`;
    k.publicJwk.alg = 'ES256';
    keys[k.publicJwk.x] = k;
    issuers[slug] = { key: k };
    out[slug] = { url: `${base}/${slug}`, jwk: k.publicJwk };
  }
  process.stdout.write(JSON.stringify({ url: base, issuers: out }) + '\n');
});
process.on('SIGTERM', () => process.exit(0));
