/** Budget lines: read with their unit; edited by the unit's writers while its submission and its plan are open. */
import type { PlanStatus } from '../budget/BudgetPlan.js';
import type { SubmissionStatus } from '../budget/BudgetSubmission.js';
import type { Viewer } from './viewer.js';
import { isPlanOpen } from './budgetPlan.js';
import { canReadUnit, canWriteUnit } from './businessUnit.js';

/** The fields of a line (or grid cell) that its policy looks at. */
export interface LineScope {
  unitId: string;
}

/** Submission statuses under which a unit's figures are frozen for everyone. */
const FROZEN: ReadonlySet<SubmissionStatus> = new Set(['SUBMITTED', 'APPROVED']);

export function isFrozen(status: SubmissionStatus): boolean {
  return FROZEN.has(status);
}

export function canReadLine(viewer: Viewer, line: LineScope): boolean {
  return canReadUnit(viewer, line.unitId);
}

/** May the viewer change this line's editable cells, given its unit's current submission status and its plan's status? */
export function canEditLine(viewer: Viewer, line: LineScope, submissionStatus: SubmissionStatus, planStatus: PlanStatus): boolean {
  return canWriteUnit(viewer, line.unitId) && !isFrozen(submissionStatus) && isPlanOpen(planStatus);
}
