// wallet.mjs: a foreign wallet built only on npm libraries
// (@openid4vc/openid4vci, @openid4vc/openid4vp, dcql, @sd-jwt/sd-jwt-vc).
//
// It reads a JSON script on stdin:
//   {"registry": "http://...", "ca": "/path/ca.pem"?,
//    "steps": [{"receive": {"offer": "openid-credential-offer://...", "tx_code": "123456"}},
//              {"present": {"request_uri": "openid4vp://..."}}]}
// and prints one JSON line per step: {"ok": true, ...} or
// {"ok": false, "error": "..."}. Credentials live in memory only.
import { Openid4vciClient } from '@openid4vc/openid4vci';
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
  wallet.push({ sdjwt, vct: v.payload.vct, claims, key });
  return { issuer: iss, vct: v.payload.vct, typ: v.header.typ, x5c: !!v.header.x5c, claims };
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

for (const step of input.steps || []) {
  try {
    const out = step.receive ? await receive(step.receive) : await present(step.present);
    process.stdout.write(JSON.stringify({ ok: true, ...out }) + '\n');
  } catch (e) {
    const detail = e.errorResponse || e.internalMessage || undefined;
    process.stdout.write(JSON.stringify({ ok: false, error: String(e.message || e), detail }) + '\n');
  }
}
