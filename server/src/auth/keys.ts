/**
 * The ES256 key pair that signs Plansync's own tokens: JWT_PRIVATE_KEY / JWT_PUBLIC_KEY when given,
 * otherwise generated once into DATA_DIR (mode 600) so that tokens survive a restart.
 */
import { hkdfSync } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { exportPKCS8, exportSPKI, generateKeyPair, importPKCS8, importSPKI, type CryptoKey } from 'jose';

export interface SigningKeys {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /**
   * A 32-byte key for one purpose (e.g. encrypting TOTP secrets at rest), derived with HKDF-SHA256 from the
   * private signing key: every instance that signs tokens derives the same one, and nothing else has to be
   * configured or stored. A new signing key gives new derived keys (what was encrypted with the old ones can
   * no longer be read).
   */
  deriveKey(purpose: string): Buffer;
}

const ALG = 'ES256';

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
}

export async function loadSigningKeys(options: {
  privatePem?: string;
  publicPem?: string;
  dataDir: string;
}): Promise<SigningKeys> {
  let { privatePem, publicPem } = options;
  if (!privatePem || !publicPem) {
    if (privatePem || publicPem) throw new Error('Give both JWT_PRIVATE_KEY and JWT_PUBLIC_KEY, or neither');
    const privateFile = path.join(options.dataDir, 'jwt-private.pem');
    const publicFile = path.join(options.dataDir, 'jwt-public.pem');
    privatePem = await readIfExists(privateFile);
    publicPem = await readIfExists(publicFile);
    if (!privatePem || !publicPem) {
      const pair = await generateKeyPair(ALG, { extractable: true });
      privatePem = await exportPKCS8(pair.privateKey);
      publicPem = await exportSPKI(pair.publicKey);
      await fs.mkdir(options.dataDir, { recursive: true });
      // Write the public half last: a crash in between leaves no pair, and the next start makes a new one.
      await fs.writeFile(privateFile, privatePem, { mode: 0o600 });
      await fs.writeFile(publicFile, publicPem, { mode: 0o644 });
    }
  }
  const secret = privatePem.trim();
  return {
    privateKey: await importPKCS8(privatePem, ALG),
    publicKey: await importSPKI(publicPem, ALG),
    deriveKey: (purpose) => Buffer.from(hkdfSync('sha256', secret, 'plansync', purpose, 32)),
  };
}
