#!/usr/bin/env node
// Prints a fresh ES256 key pair as .env lines (JWT_PRIVATE_KEY / JWT_PUBLIC_KEY, newlines as \n), for
// deployments where several instances must sign and verify the same tokens: `npm run keys >> .env`.
import { exportPKCS8, exportSPKI, generateKeyPair } from 'jose';

const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
const oneLine = (pem) => pem.trim().replace(/\n/g, '\\n');
console.log(`JWT_PRIVATE_KEY="${oneLine(await exportPKCS8(privateKey))}"`);
console.log(`JWT_PUBLIC_KEY="${oneLine(await exportSPKI(publicKey))}"`);
