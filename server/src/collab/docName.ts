/** Grid document names: `budget:<planId>:<BU_CODE>`, one document per plan and business unit. */
import { isUuid } from '../ids.js';

export interface GridDocName {
  planId: string;
  unitCode: string;
}

const UNIT_CODE = /^[A-Z0-9_]{1,64}$/;

export function parseDocName(name: string): GridDocName | null {
  const parts = name.split(':');
  if (parts.length !== 3 || parts[0] !== 'budget') return null;
  const [, planId, unitCode] = parts;
  if (!isUuid(planId) || !UNIT_CODE.test(unitCode)) return null;
  return { planId: planId.toLowerCase(), unitCode };
}

export function formatDocName(planId: string, unitCode: string): string {
  return `budget:${planId}:${unitCode}`;
}
