// wallet.mjs: a foreign wallet built only on npm libraries
// (@openid4vc/openid4vci, @openid4vc/openid4vp, dcql, @sd-jwt/sd-jwt-vc).
//
// It reads a JSON script on stdin:
//   {"registry": "http://...", "ca": "/path/ca.pem"?,
//    "steps": [{"receive": {"offer": "openid-credential-offer://...", "tx_code": "123456"}},
//              {"present": {"request_uri": "openid4vp://..."}},
//              {"authorize": {"issuer": "http://...", "credential_configuration_id": "...",
//                             "client_id": "...", "redirect_uri": "...", "dpop": true}}]}
// and prints one JSON line per step: {"ok": true, ...} or
// {"ok": false, "error": "..."}. Credentials live in memory only.
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { Oauth2Client, clientAuthenticationNone } from '@openid4vc/oauth2';
import { Openid4vpClient } from '@openid4vc/openid4vp';
import { DcqlQuery } from 'dcql';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import crypto from 'node:crypto';
import * as lib from './lib.mjs';

const input = await lib.readStdinJSON();
const keys = {};
const cb = lib.callbacks({ registry: input.registry, keys, roots: lib.loadRoots(input.ca) });
const wallet = []; // {sdjwt, vct, claims, key}

async function receive({ offer, tx_code }) {
  const client = new Openid4vciClient({ callbacks: cb });
  const credentialOffer = await client.resolveCredentialOffer(offer);
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer);
  const { accessTokenResponse } = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: tx_code,
  });
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const key = await lib.newKey();
  keys[key.publicJwk.x] = key;
  const credentialConfigurationId = credentialOffer.credential_configuration_ids[0];
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId,
    signer: { method: 'jwk', publicJwk: key.publicJwk, alg: 'ES256' },
    nonce: c_nonce,
  });
  const res = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId,
    proofs: { jwt: [jwt] },
  });
  const creds = res.credentialResponse.credentials;
  if (!creds || creds.length !== 1) throw new Error(`expected one credential, got ${JSON.stringify(res.credentialResponse)}`);
  const sdjwt = creds[0].credential;
  // A wallet checks what it receives: the issuer's signature with its JWT
  // VC Issuer Metadata key, and that cnf is the key it proved.
  const iss = lib.decodeJwtPart(sdjwt, 0) && lib.decodeJwtPart(sdjwt.split('~')[0], 1).iss;
  if (iss !== credentialOffer.credential_issuer) throw new Error(`credential iss ${iss} is not the offer's issuer`);
  const issuerKeys = await lib.jwtVcIssuerKeys(iss);
  const sd = new SDJwtVcInstance({
    hasher: lib.hasher,
    verifier: (data, sig) => {
      const h = lib.decodeJwtPart(data, 0);
      const k = issuerKeys.find((k) => !h.kid || k.kid === h.kid) || issuerKeys[0];
      return lib.verifyES256(k, data, sig);
    },
  });
  const v = await sd.verify(sdjwt);
  if (v.payload.cnf?.jwk?.x !== key.publicJwk.x) throw new Error('cnf is not the proven key');
  const claims = await sd.getClaims(sdjwt);
  wallet.push({ sdjwt, vct: v.payload.vct, claims, key, akis: lib.authorityKeyIds(v.header.x5c || []) });
  return { issuer: iss, vct: v.payload.vct, typ: v.header.typ, x5c: !!v.header.x5c, akis: wallet[wallet.length - 1].akis, claims };
}

// frameFrom turns DCQL's selected-claims output into an @sd-jwt
// presentation frame.
function frameFrom(obj) {
  const f = {};
  for (const [k, v] of Object.entries(obj)) {
    f[k] = v && typeof v === 'object' && !Array.isArray(v) ? frameFrom(v) : true;
  }
  return f;
}

async function present({ request_uri }) {
  const client = new Openid4vpClient({ callbacks: cb });
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: request_uri });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params });
  const req = resolved.authorizationRequestPayload;
  const query = DcqlQuery.parse(resolved.dcql.query);
  DcqlQuery.validate(query);
  const input = wallet.map((c) => ({
    credential_format: 'dc+sd-jwt',
    vct: c.vct,
    claims: c.claims,
    cryptographic_holder_binding: true,
    // The dcql library matches trusted_authorities against this: the
    // AuthorityKeyIdentifiers of the credential's x5c chain.
    ...(c.akis.length ? { authority: { type: 'aki', values: c.akis } } : {}),
  }));
  const result = DcqlQuery.query(query, input);
  if (!result.can_be_satisfied) throw new Error('the wallet cannot answer this DCQL query');
  const vpToken = {};
  const disclosed = {};
  for (const [qid, m] of Object.entries(result.credential_matches)) {
    if (!m.success) continue;
    const vc = m.valid_credentials[0];
    const c = wallet[vc.input_credential_index];
    const selected = vc.claims.valid_claim_sets[0].output;
    const sd = new SDJwtVcInstance({
      hasher: lib.hasher,
      kbSigner: lib.sdSigner(c.key.privateKey),
      kbSignAlg: 'ES256',
    });
    const vp = await sd.present(c.sdjwt, frameFrom(selected), {
      kb: { payload: { iat: Math.floor(Date.now() / 1000), aud: req.client_id, nonce: req.nonce } },
    });
    vpToken[qid] = [vp];
    disclosed[qid] = selected;
  }
  const responseMode = req.response_mode || 'fragment';
  let jarm;
  if (responseMode === 'direct_post.jwt') {
    const cm = req.client_metadata || {};
    const encJwk = cm.jwks.keys.find((k) => k.use === 'enc' || !k.use);
    jarm = {
      encryption: { nonce: lib.b64u(crypto.randomBytes(16)), jwk: encJwk },
      serverMetadata: {
        authorization_signing_alg_values_supported: [],
        authorization_encryption_alg_values_supported: ['ECDH-ES'],
        authorization_encryption_enc_values_supported: cm.encrypted_response_enc_values_supported || ['A128GCM'],
      },
    };
  }
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: req,
    authorizationResponsePayload: { vp_token: vpToken },
    jarm,
  });
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: req,
    authorizationResponsePayload: response.authorizationResponsePayload,
    jarm: response.jarm,
  });
  const body = await submitted.response.text();
  return {
    client_id: req.client_id,
    client_prefix: resolved.client.prefix,
    response_mode: responseMode,
    encrypted: !!response.jarm,
    status: submitted.response.status,
    body,
    disclosed,
  };
}

// authorize runs the authorization code flow (wallet-initiated, from the
// issuer's metadata): the library's PAR with PKCE (and DPoP), then the
// authorization endpoint, where the issuer asks for an OpenID4VP
// presentation of a credential this wallet already holds; this wallet
// answers it with present(), follows the verifier's redirect_uri back to
// the authorization endpoint with the page's cookie, and lets
// the library check iss, redeem the code with the code_verifier (and a
// DPoP proof) and fetch the credential.
async function authorize({ issuer, credential_configuration_id, client_id, redirect_uri, dpop }) {
  // A public client: client authentication "none" sends client_id in the
  // token request, as RFC 6749 §4.1.3 requires of unauthenticated clients.
  const acb = { ...cb, clientAuthentication: clientAuthenticationNone({ clientId: client_id }) };
  const client = new Openid4vciClient({ callbacks: acb });
  const issuerMetadata = await client.resolveIssuerMetadata(issuer);
  const credentialOffer = { credential_issuer: issuer, credential_configuration_ids: [credential_configuration_id], grants: { authorization_code: {} } };
  let dpopOpts;
  if (dpop) {
    const dk = await lib.newKey();
    keys[dk.publicJwk.x] = dk;
    dpopOpts = { signer: { method: 'jwk', publicJwk: dk.publicJwk, alg: 'ES256' } };
  }
  const state = lib.b64u(crypto.randomBytes(12));
  // Openid4vciClient.initiateAuthorization (0.4.6) does not pass a state
  // on, so the wallet calls the OAuth 2.0 client under it (the same PAR,
  // PKCE and DPoP code) with the issuer's authorization server metadata.
  const init = await new Oauth2Client({ callbacks: acb }).initiateAuthorization({
    authorizationServerMetadata: issuerMetadata.authorizationServers[0],
    clientId: client_id,
    redirectUri: redirect_uri,
    state,
    resource: issuer,
    additionalRequestPayload: {
      authorization_details: [{ type: 'openid_credential', credential_configuration_id }],
    },
    dpop: dpopOpts,
  });
  if (!init.authorizationRequestUrl) throw new Error(`unexpected authorization flow ${init.authorizationFlow}`);
  const page = await fetch(init.authorizationRequestUrl, { headers: { Accept: 'application/json' } });
  const pj = await page.json();
  if (page.status !== 200 || !pj.presentation_uri) throw new Error(`authorization endpoint: ${page.status} ${JSON.stringify(pj)}`);
  // The page binds the authorization to this user agent with a cookie
  // (fetch keeps no cookie jar, so the wallet carries it itself).
  const cookie = page.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const presented = await present({ request_uri: pj.presentation_uri });
  // Same-device (OpenID4VP 1.0 §8.2): the verifier's answer names the
  // redirect_uri, with a response_code, that the user agent follows back
  // to the authorization endpoint; only there is the code given.
  const answer = presented.status === 200 ? JSON.parse(presented.body || '{}') : {};
  if (!answer.redirect_uri || new URL(answer.redirect_uri).origin !== new URL(init.authorizationRequestUrl).origin) {
    throw new Error(`the sign-in did not send the wallet back to the authorization server: ${presented.status} ${presented.body}`);
  }
  const back = await fetch(answer.redirect_uri, { headers: { Accept: 'application/json', Cookie: cookie }, redirect: 'manual' });
  const done = await back.json();
  if (back.status !== 200 || !done.redirect_to) throw new Error(`no redirect: ${back.status} ${JSON.stringify(done)}`);
  const authzResponse = client.parseAndVerifyAuthorizationResponseRedirectUrl({
    url: done.redirect_to,
    authorizationServerMetadata: issuerMetadata.authorizationServers[0],
  });
  if (authzResponse.error) throw new Error(`authorization error ${authzResponse.error}: ${authzResponse.error_description}`);
  if (authzResponse.state !== state) throw new Error(`state differs: ${authzResponse.state} vs ${state} in ${done.redirect_to} from ${init.authorizationRequestUrl}`);
  const { accessTokenResponse, dpop: dpopAfter } = await client.retrieveAuthorizationCodeAccessTokenFromOffer({
    issuerMetadata,
    credentialOffer,
    authorizationCode: authzResponse.code,
    pkceCodeVerifier: init.pkce?.codeVerifier,
    redirectUri: redirect_uri,
    dpop: dpopOpts,
  });
  const { c_nonce } = await client.requestNonce({ issuerMetadata });
  const key = await lib.newKey();
  keys[key.publicJwk.x] = key;
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata,
    credentialConfigurationId: credential_configuration_id,
    signer: { method: 'jwk', publicJwk: key.publicJwk, alg: 'ES256' },
    nonce: c_nonce,
  });
  const res = await client.retrieveCredentials({
    issuerMetadata,
    accessToken: accessTokenResponse.access_token,
    credentialConfigurationId: credential_configuration_id,
    proofs: { jwt: [jwt] },
    dpop: dpopAfter || dpopOpts,
  });
  const creds = res.credentialResponse.credentials;
  if (!creds || creds.length !== 1) throw new Error(`expected one credential, got ${JSON.stringify(res.credentialResponse)}`);
  const payload = lib.decodeJwtPart(creds[0].credential.split('~')[0], 1);
  return {
    pkce: !!init.pkce,
    token_type: accessTokenResponse.token_type,
    presented: presented.disclosed,
    presentation_status: presented.status,
    vct: payload.vct,
    iss: payload.iss,
    cnf_is_key: payload.cnf?.jwk?.x === key.publicJwk.x,
  };
}

for (const step of input.steps || []) {
  try {
    const out = step.receive ? await receive(step.receive) : step.authorize ? await authorize(step.authorize) : await present(step.present);
    process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
  } catch (e) {
    const detail = e.errorResponse || e.internalMessage || undefined;
    process.stdout.write(JSON.stringify({ ok: false, error: String(e.message || e), detail }) + '\n');
  }
}
