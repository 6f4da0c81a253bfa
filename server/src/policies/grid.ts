/**
 * What a person may do in a unit's grid (`/yjs/budget:<plan>:<unit>`, collab/docName.ts): nothing (the join
 * is refused), read (the connection is read-only: its edits are dropped), or write. Asked by the grid server
 * when a socket joins and at every re-check (an access change, a submission's or a plan's status change, Redis
 * coming back), so that a grid never keeps rights its person no longer has. A closed plan's grids are read-only.
 */
import type { PlanStatus } from '../budget/BudgetPlan.js';
import { canEditLine } from './budgetLine.js';
import type { SubmissionScope } from './budgetSubmission.js';
import { canReadUnit } from './businessUnit.js';
import { noteConsulted } from './consulted.js';
import { credentialsMayWrite, type Viewer } from './viewer.js';

export type GridRights = 'none' | 'read' | 'write';

/**
 * `plan` and `unit` as looked up (null: missing); `submission` is the unit's submission in the plan, or null
 * when the unit has none yet: a unit without a submission has not been submitted, so it is a DRAFT, at
 * the join and at every re-check alike.
 */
export function gridRights(
  viewer: Viewer,
  unit: { id: string } | null,
  submission: Pick<SubmissionScope, 'status'> | null,
  plan: { id: string; status: PlanStatus } | null,
): GridRights {
  noteConsulted();
  if (!plan || !unit || !canReadUnit(viewer, unit.id)) return 'none';
  // A READ access token reads what its owner reads, and edits nothing.
  if (!credentialsMayWrite(viewer)) return 'read';
  return canEditLine(viewer, { unitId: unit.id }, submission?.status ?? 'DRAFT', plan.status) ? 'write' : 'read';
}
