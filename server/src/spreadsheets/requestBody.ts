/**
 * An import's body: its kind from the content type (CSV or xlsx, else 415), read whole up to the contract's
 * 10 MB (beyond: 413, without reading the rest into memory), and a CSV body decoded to text.
 */
import type { Request } from 'express';

export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
export const CSV_TYPE = 'text/csv';

export type SheetFormat = 'csv' | 'xlsx';

/** The format a content type names (its parameters aside), or null. `application/csv` is what some tools send for CSV. */
export function formatOf(contentType: string | undefined): SheetFormat | null {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  if (type === CSV_TYPE || type === 'application/csv') return 'csv';
  if (type === XLSX_TYPE) return 'xlsx';
  return null;
}

/** The charset parameter of a content type, lower-cased, or null. */
export function charsetOf(contentType: string | undefined): string | null {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType ?? '');
  return match ? match[1].toLowerCase() : null;
}

export class BodyTooLarge extends Error {
  constructor() {
    super(`The file is over ${MAX_IMPORT_BYTES / (1024 * 1024)} MB: split it, or import one business unit at a time`);
    this.name = 'BodyTooLarge';
  }
}

/** The whole body, or BodyTooLarge as soon as it passes `limit` bytes (the rest is left unread). */
export function readBody(req: Request, limit = MAX_IMPORT_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) return reject(new BodyTooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        return reject(new BodyTooLarge());
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('aborted', onAborted);
    };
    const onAborted = () => onError(new Error('request aborted'));
    req.on('data', onData).on('end', onEnd).on('error', onError).on('aborted', onAborted);
  });
}

/**
 * A CSV body as text: in the charset its content type names when one is given and known, else UTF-8 (with or
 * without a byte order mark); bytes that are not UTF-8 are read as Windows-1252, which is what Excel's plain
 * "CSV (Comma delimited)" writes on Windows.
 */
export function decodeCsv(body: Buffer, charset: string | null): string {
  if (charset && charset !== 'utf-8' && charset !== 'utf8') {
    try {
      return new TextDecoder(charset).decode(body);
    } catch {
      // An unknown charset: read it as we would with none.
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
  } catch {
    return new TextDecoder('windows-1252').decode(body);
  }
}
