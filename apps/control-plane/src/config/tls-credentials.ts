import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** TLS_CERT_FILE / TLS_KEY_FILE: the API serves HTTPS with them. */
export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

export interface TlsCredentials {
  cert: Buffer;
  key: Buffer;
}

function read(file: string, variable: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`${variable} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (${file})`);
  }
}

/**
 * Reads the certificate (chain, leaf first) and its key, and checks that both are PEM and belong together, so that a
 * bad pair stops the server at boot, or is refused on reload while the current one stays in use. Errors name the
 * variable to fix.
 */
export function readTlsCredentials(files: TlsFiles): TlsCredentials {
  const cert = read(files.certFile, 'TLS_CERT_FILE');
  const key = read(files.keyFile, 'TLS_KEY_FILE');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new Error(`TLS_CERT_FILE must hold a PEM certificate (${files.certFile})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`TLS_KEY_FILE must hold an unencrypted PEM private key (${files.keyFile})`);
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`TLS_KEY_FILE is not the key of the certificate in TLS_CERT_FILE (${files.keyFile}, ${files.certFile})`);
  }
  return { cert, key };
}
