/**
 * The spreadsheet endpoints (CONTRACT.md v1.1, "Spreadsheets in and out") from the browser, with the session's
 * bearer token: a plain link or form cannot send the Authorization header, so the export is fetched and handed
 * to the browser as a download, and the import is sent with XMLHttpRequest, whose upload reports its progress
 * (fetch does not).
 */
import { ErrorCode } from '../../../schema/codes';

export type SheetFormat = 'csv' | 'xlsx';

const CONTENT_TYPE: Record<SheetFormat, string> = {
  csv: 'text/csv',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};

/** The server refuses bodies over this (413); said before uploading, so nobody waits for the refusal. */
export const MAX_IMPORT_BYTES = 10 * 1024 * 1024;

/** What an import did, or (dry run) would do: cells counted, every refused cell with its row and reason. */
export interface ImportOutcome {
  applied: number;
  unchanged: number;
  rejected: { row: number; column: string; reason: string }[];
  /** Once applied: each changed cell, before and after, and its line's version after the import (for an undo). */
  changes?: AppliedCell[];
  /** Cells the file sets on lines a colleague changed after it was exported: applying sets their newer values back. */
  changedSinceExport?: ChangedSinceExport[];
  /** How many there are in all: the list holds the first 200. */
  changedSinceExportCount?: number;
}

export interface ChangedSinceExport {
  row: number;
  column: string;
  now: number | string | null;
  file: number | string | null;
  updatedBy: string | null;
  updatedAt: string;
}

export interface AppliedCell {
  lineId: string;
  column: 'budgetAmount' | 'forecastSales' | 'comment';
  before: number | string | null;
  after: number | string | null;
  version: number;
}

/** A refusal of the server (`{ error: { code, message } }`), or a failed request, in words for people. */
export class SheetRequestError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string) {
    super(message);
    this.name = 'SheetRequestError';
  }

  get unauthenticated(): boolean {
    return this.status === 401 || this.code === ErrorCode.UNAUTHENTICATED;
  }
}

function refusal(status: number, body: string): SheetRequestError {
  try {
    const { error } = JSON.parse(body) as { error?: { code?: string; message?: string } };
    if (error?.message) return new SheetRequestError(error.message, status, error.code);
  } catch {
    // Not the server's JSON (a proxy's page, say): the status says enough.
  }
  return new SheetRequestError(`The server answered ${status}`, status);
}

/** The format a file's name says, or null: browsers report .csv under several types (or none), so the name decides. */
export function formatOfFile(name: string): SheetFormat | null {
  const extension = /\.([a-z]+)$/i.exec(name)?.[1]?.toLowerCase();
  return extension === 'csv' || extension === 'xlsx' ? extension : null;
}

/** The file name of a `Content-Disposition` header (the UTF-8 `filename*` first, RFC 6266), or null. */
export function fileNameOf(disposition: string | null): string | null {
  if (!disposition) return null;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (extended) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // Malformed escapes: the plain name below.
    }
  }
  return /filename\s*=\s*"?([^";]+)"?/i.exec(disposition)?.[1] ?? null;
}

/** Downloads the lines of a plan (of one unit, when given) as a file; its name is the server's. */
export async function downloadSheet(token: string, planId: string, unitCode: string | null, format: SheetFormat): Promise<string> {
  const query = new URLSearchParams({ planId });
  if (unitCode) query.set('businessUnitCode', unitCode);
  const response = await fetch(`/export/budget-lines.${format}?${query}`, { headers: { authorization: `Bearer ${token}` } });
  if (!response.ok) throw refusal(response.status, await response.text());
  const blob = await response.blob();
  const name = fileNameOf(response.headers.get('content-disposition')) ?? `budget-lines.${format}`;
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  // The click has handed the blob to the download by now; the next task may free it.
  setTimeout(() => URL.revokeObjectURL(url), 0);
  return name;
}

/**
 * Sends a file to the import (`dryRun`: judged, nothing applied). `onProgress` hears the bytes sent so far of
 * the total; `signal` aborts the upload.
 */
export function uploadSheet(
  token: string,
  planId: string,
  file: File,
  dryRun: boolean,
  onProgress: (sent: number, total: number) => void,
  signal?: AbortSignal,
): Promise<ImportOutcome> {
  const format = formatOfFile(file.name);
  if (!format) return Promise.reject(new SheetRequestError('Choose a .csv or .xlsx file', 0));
  const query = new URLSearchParams({ planId });
  if (dryRun) query.set('dryRun', 'true');
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/import/budget-lines?${query}`);
    request.setRequestHeader('authorization', `Bearer ${token}`);
    request.setRequestHeader('content-type', CONTENT_TYPE[format]);
    request.upload.onprogress = (event) => onProgress(event.loaded, event.lengthComputable ? event.total : file.size);
    request.onload = () => {
      if (request.status !== 200) return reject(refusal(request.status, request.responseText));
      try {
        resolve(JSON.parse(request.responseText) as ImportOutcome);
      } catch {
        reject(new SheetRequestError('The server’s answer could not be read', request.status));
      }
    };
    request.onerror = () => reject(new SheetRequestError('The file could not be sent: no connection to the server', 0));
    request.onabort = () => reject(new SheetRequestError('Upload cancelled', 0));
    signal?.addEventListener('abort', () => request.abort(), { once: true });
    request.send(file);
  });
}
