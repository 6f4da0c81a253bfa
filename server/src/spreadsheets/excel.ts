/**
 * exceljs, loaded the first time someone imports or exports an xlsx workbook rather than when the server starts:
 * it is the largest library the server uses (about 7.5 MB of heap once loaded, its code and its dependencies'),
 * and most processes never read or write a workbook. What a process loads stays in its heap for good, and every
 * major garbage collection walks it (issue 16), so a library only some requests need is loaded by them.
 */
import type ExcelJSModule from 'exceljs';

let loaded: Promise<typeof ExcelJSModule> | undefined;

export function loadExcelJS(): Promise<typeof ExcelJSModule> {
  loaded ??= import('exceljs').then((mod) => mod.default);
  return loaded;
}
