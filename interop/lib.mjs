// Shared pieces of the interop scripts: the callbacks that the @openid4vc
// libraries ask their host for (hashing, randomness, JWT signing and
// verification, JWE), built on jose and node:crypto, and a did:tong
// resolver. Nothing here implements a protocol: the protocol steps are
// the libraries' own.
import crypto from 'node:crypto';
import fs from 'node:fs';
import * as jose from 'jose';
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { setGlobalConfig } from '@openid4vc/utils';

// The suite runs everything on loopback http (tongtest's server); the
// libraries refuse http URLs unless told otherwise.
setGlobalConfig({ allowInsecureUrls: true });

export const b64u = (buf) => Buffer.from(buf).toString('base64url');

// Keys.
export async function newKey() {
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256', { extractable: true });
  const publicJwk = await jose.exportJWK(publicKey);
  const privateJwk = await jose.exportJWK(privateKey);
  return { publicKey, privateKey, publicJwk, privateJwk, alg: 'ES256' };
}

// importKey makes a key pair from a private ES256 JWK.
export async function importKey(privateJwk) {
  const privateKey = await jose.importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256', { extractable: true });
  const { d, ...pub } = privateJwk;
  const publicKey = await jose.importJWK({ ...pub, alg: 'ES256' }, 'ES256');
  return { publicKey, privateKey, publicJwk: { kty: pub.kty, crv: pub.crv, x: pub.x, y: pub.y }, privateJwk, alg: 'ES256' };
}

// sdSigner returns the @sd-jwt Signer for a private key: data is
// "header.payload", the result the base64url signature.
export function sdSigner(privateKey) {
  return async (data) => {
    const s = crypto.sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    return b64u(s);
  };
}

// sdVerifier checks an ES256 signature over data with a public JWK.
export function verifyES256(jwk, data, sig) {
  const key = crypto.createPublicKey({ key: jwk, format: 'jwk' });
  return crypto.verify('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(sig, 'base64url'));
}

export const hasher = (data, alg) => digest(data, alg || 'sha-256');
export const saltGenerator = generateSalt;

// did:tong resolution through the registry's DID Resolution HTTP binding.
// The DID goes into the path as it is (colons are legal in a path
// segment). The inclusion proof that comes with the answer is NOT checked
// here: a known gap (docs/interop.md).
const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
function base58decode(s) {
  let n = 0n;
  for (const c of s) {
    const i = B58.indexOf(c);
    if (i < 0) throw new Error('bad base58');
    n = n * 58n + BigInt(i);
  }
  let hex = n.toString(16);
  if (hex.length % 2) hex = '0' + hex;
  const lead = s.match(/^1*/)[0].length;
  return Buffer.concat([Buffer.alloc(lead), Buffer.from(n === 0n ? '' : hex, 'hex')]);
}

// multikeyToJwk decodes a P-256 Multikey (multicodec 0x1200, compressed).
export function multikeyToJwk(mb) {
  if (!mb.startsWith('z')) throw new Error('multibase is not base58btc');
  const b = base58decode(mb.slice(1));
  if (b[0] !== 0x80 || b[1] !== 0x24 || b.length !== 35) throw new Error('not a P-256 multikey');
  const raw = crypto.ECDH.convertKey(b.subarray(2), 'prime256v1', undefined, undefined, 'uncompressed');
  return { kty: 'EC', crv: 'P-256', x: b64u(raw.subarray(1, 33)), y: b64u(raw.subarray(33, 65)) };
}

export async function resolveDidKey(registry, didUrl, relationship) {
  const [did] = didUrl.split('#');
  if (!did.startsWith('did:tong:')) throw new Error(`cannot resolve ${did}`);
  const res = await fetch(`${registry}/1.0/identifiers/${did}`, { headers: { Accept: 'application/did-resolution' } });
  if (!res.ok) throw new Error(`resolve ${did}: HTTP ${res.status}`);
  const doc = (await res.json()).didDocument;
  const abs = (id) => (id.startsWith('#') ? did + id : id);
  const refs = (doc[relationship] || []).map((r) => (typeof r === 'string' ? abs(r) : abs(r.id)));
  if (!refs.includes(didUrl)) throw new Error(`${didUrl} is not under ${relationship}`);
  const vm = (doc.verificationMethod || []).find((m) => abs(m.id) === didUrl);
  if (!vm) throw new Error(`no verification method ${didUrl}`);
  return vm.publicKeyJwk || multikeyToJwk(vm.publicKeyMultibase);
}

// x5c: the leaf certificate's public key, after checking the chain up to
// one of the trusted PEM roots (null roots: no chain check).
export function x5cLeafJwk(x5c, roots, now = new Date()) {
  const certs = x5c.map((c) => new crypto.X509Certificate(Buffer.from(c, 'base64')));
  for (const c of certs) {
    if (new Date(c.validFrom) > now || new Date(c.validTo) < now) throw new Error('x5c certificate outside its validity');
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    if (!certs[i].verify(certs[i + 1].publicKey)) throw new Error('x5c chain does not verify');
  }
  if (roots) {
    const last = certs[certs.length - 1];
    const ok = roots.some((r) => last.fingerprint256 === r.fingerprint256 || (last.checkIssued(r) && last.verify(r.publicKey)));
    if (!ok) throw new Error('x5c chain does not reach a trusted root');
  }
  return certs[0].publicKey.export({ format: 'jwk' });
}

// authorityKeyIds: the "aki" Trusted Authorities Query values of an x5c
// chain (OpenID4VP 1.0 §6.1.1.1): each certificate's AuthorityKeyIdentifier
// keyIdentifier (RFC 5280 §4.2.1.1), base64url. Node's X509Certificate does
// not expose the extension, so this walks the DER: Certificate ->
// tbsCertificate -> [3] extensions -> Extension {extnID 2.5.29.35,
// critical?, extnValue OCTET STRING {SEQUENCE {[0] keyIdentifier}}}.
export function authorityKeyIds(x5c = []) {
  const tlv = (b, i) => {
    const tag = b[i];
    let len = b[i + 1];
    let off = i + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + b[off + k];
      off += n;
    }
    if (off + len > b.length) throw new Error('DER element overruns its parent');
    return { tag, start: off, end: off + len };
  };
  const children = (b, el) => {
    const out = [];
    for (let i = el.start; i < el.end; ) {
      const c = tlv(b, i);
      out.push(c);
      i = c.end;
    }
    return out;
  };
  const akiOID = Buffer.from([0x55, 0x1d, 0x23]);
  const out = [];
  for (const c of x5c) {
    const b = Buffer.from(c, 'base64');
    const tbs = children(b, tlv(b, 0))[0];
    const exts = children(b, tbs).find((e) => e.tag === 0xa3);
    if (!exts) continue;
    for (const ext of children(b, children(b, exts)[0])) {
      const [id, ...rest] = children(b, ext);
      if (id.tag !== 0x06 || !b.subarray(id.start, id.end).equals(akiOID)) continue;
      const value = rest[rest.length - 1];
      const seq = tlv(b, value.start);
      const kid = children(b, seq).find((e) => e.tag === 0x80);
      if (kid) {
        const v = b.subarray(kid.start, kid.end).toString('base64url');
        if (!out.includes(v)) out.push(v);
      }
    }
  }
  return out;
}

export function loadRoots(pemFile) {
  if (!pemFile) return null;
  const pem = fs.readFileSync(pemFile, 'utf8');
  return pem.split(/(?=-----BEGIN CERTIFICATE-----)/).filter((p) => p.trim()).map((p) => new crypto.X509Certificate(p));
}

// callbacks builds the CallbackContext of @openid4vc/oauth2.
export function callbacks({ registry, keys = {}, roots = null, decryptionKeys = [] } = {}) {
  return {
    hash: (data, alg) => new Uint8Array(crypto.createHash(alg.replace('-', '')).update(data).digest()),
    generateRandom: (n) => new Uint8Array(crypto.randomBytes(n)),
    clientAuthentication: () => {},
    fetch: (...a) => fetch(...a),
    signJwt: async (signer, { header, payload }) => {
      const k = signer.method === 'jwk' ? keys[signer.publicJwk.x] : keys[signer.kid || signer.didUrl];
      if (!k) throw new Error('no private key for this signer');
      const jwt = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader(header)
        .sign(k.privateKey);
      return { jwt, signerJwk: k.publicJwk };
    },
    verifyJwt: async (signer, { compact }) => {
      let jwk;
      try {
        if (signer.method === 'jwk') jwk = signer.publicJwk;
        else if (signer.method === 'did') jwk = await resolveDidKey(registry, signer.didUrl, 'authentication');
        else if (signer.method === 'x5c') jwk = x5cLeafJwk(signer.x5c, roots);
        else return { verified: false };
        await jose.compactVerify(compact, await jose.importJWK(jwk, signer.alg));
        return { verified: true, signerJwk: jwk };
      } catch (e) {
        return { verified: false, signerJwk: jwk };
      }
    },
    getX509CertificateMetadata: (cert) => {
      const c = new crypto.X509Certificate(Buffer.from(cert, 'base64'));
      const san = (c.subjectAltName || '').split(', ');
      return {
        sanDnsNames: san.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)),
        sanUriNames: san.filter((s) => s.startsWith('URI:')).map((s) => s.slice(4)),
      };
    },
    encryptJwe: async (encryptor, data) => {
      const key = await jose.importJWK(encryptor.publicJwk, 'ECDH-ES');
      const enc = new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader({
        alg: encryptor.alg,
        enc: encryptor.enc,
        // OpenID4VP 1.0 §8.3: the JWE carries the kid of the key it is
        // encrypted to. @openid4vc/openid4vp 0.4.6 leaves that to this
        // callback (its jweEncryptor has no kid), so take it from the JWK.
        ...(encryptor.kid || encryptor.publicJwk.kid ? { kid: encryptor.kid || encryptor.publicJwk.kid } : {}),
        ...(encryptor.apu ? { apu: encryptor.apu } : {}),
        ...(encryptor.apv ? { apv: encryptor.apv } : {}),
      });
      return { jwe: await enc.encrypt(key), encryptionJwk: encryptor.publicJwk };
    },
    decryptJwe: async (jwe) => {
      for (const k of decryptionKeys) {
        try {
          const { plaintext } = await jose.compactDecrypt(jwe, k.privateKey);
          return { decrypted: true, decryptionJwk: k.publicJwk, payload: new TextDecoder().decode(plaintext) };
        } catch {}
      }
      return { decrypted: false };
    },
  };
}

// jwtVcIssuerKeys fetches an SD-JWT VC issuer's keys from its JWT VC
// Issuer Metadata (/.well-known/jwt-vc-issuer inserted before the path).
export async function jwtVcIssuerKeys(iss) {
  const u = new URL(iss);
  const res = await fetch(`${u.origin}/.well-known/jwt-vc-issuer${u.pathname.replace(/\/$/, '')}`);
  if (!res.ok) throw new Error(`jwt-vc-issuer metadata: HTTP ${res.status}`);
  const md = await res.json();
  if (md.issuer !== iss) throw new Error(`jwt-vc-issuer metadata names ${md.issuer}, not ${iss}`);
  if (md.jwks) return md.jwks.keys;
  const j = await fetch(md.jwks_uri);
  return (await j.json()).keys;
}

// readJSON reads all of stdin as JSON.
export async function readStdinJSON() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

export function decodeJwtPart(jwt, i) {
  return JSON.parse(Buffer.from(jwt.split('.')[i], 'base64url').toString('utf8'));
}
