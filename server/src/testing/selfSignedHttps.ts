/**
 * An HTTPS server on 127.0.0.1, port 0, with a fresh self-signed certificate, for the fakes of Microsoft's
 * services (fakeEntraAuthority.ts, fakeMicrosoftApis.ts): msal-node and the real adapters only talk https.
 * The certificate is its own CA (cA: true), so it can be a trust anchor as is; `caFile` is a PEM file to hand
 * to the server under test as NODE_EXTRA_CA_CERTS.
 */
import fs from 'node:fs/promises';
import type { RequestListener } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface SelfSignedHttpsOptions {
  /**
   * The certificate's subject. Give each fake its own: with two certificates of one subject in one CA file,
   * OpenSSL picks a trust anchor by subject and could check a certificate against the wrong key.
   */
  commonName: string;
  /** DNS names the certificate is also valid for, besides the address 127.0.0.1. */
  dnsNames?: string[];
  /** Prefix of the temporary folder that holds `caFile`. */
  dirPrefix: string;
  /** PEM certificates `caFile` holds before this server's own (another fake's, to trust both with one file). */
  alsoTrust?: string;
}

export interface SelfSignedHttps {
  /** https://127.0.0.1:<port> */
  host: string;
  /** This server's certificate (PEM), to trust it for one request only (`https.get(url, { ca })`). */
  cert: string;
  /** The PEM file of the trust anchors: `alsoTrust`, then this server's certificate. */
  caFile: string;
  /** Closes open connections and the server, and removes `caFile`. */
  close(): Promise<void>;
}

/** Starts `handler` behind a new self-signed certificate; see the module comment. */
export async function startSelfSignedHttps(options: SelfSignedHttpsOptions, handler: RequestListener): Promise<SelfSignedHttps> {
  // selfsigned 5 is async.
  const pems = await selfsigned.generate([{ name: 'commonName', value: options.commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, ...(options.dnsNames ?? []).map((value) => ({ type: 2 as const, value }))] },
    ],
  });
  const certDir = await fs.mkdtemp(path.join(os.tmpdir(), options.dirPrefix));
  const caFile = path.join(certDir, 'ca.pem');
  await fs.writeFile(caFile, options.alsoTrust === undefined ? pems.cert : `${options.alsoTrust.trim()}\n${pems.cert.trim()}\n`);

  const server = https.createServer({ key: pems.private, cert: pems.cert }, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    cert: pems.cert,
    caFile,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fs.rm(certDir, { recursive: true, force: true });
    },
  };
}
