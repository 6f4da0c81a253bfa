/** Every MikroORM entity, listed once so the ORM, the migrations and the tests agree on the model. */
import { ActivityEntry } from './activity/ActivityEntry.js';
import { AccessToken } from './auth/AccessToken.js';
import { PasswordInvitation } from './auth/PasswordInvitation.js';
import { RevokedToken } from './auth/RevokedToken.js';
import { SignInEvent } from './auth/SignInEvent.js';
import { SIGN_IN_LIMIT_TABLE } from './auth/signInLimits.js';
import { BudgetLine } from './budget/BudgetLine.js';
import { BudgetPlan } from './budget/BudgetPlan.js';
import { BudgetSubmission } from './budget/BudgetSubmission.js';
import { RemovedBudgetLine } from './budget/RemovedBudgetLine.js';
import { SUBMISSION_VERSION_TABLES } from './budget/submissionVersions.js';
import { BusinessUnit } from './directory/BusinessUnit.js';
import { CellChange } from './budget/CellChange.js';
import { GridSnapshot } from './collab/GridSnapshot.js';
import { GridUpdate } from './collab/GridUpdate.js';
import { AccessGrant } from './directory/AccessGrant.js';
import { Organization } from './directory/Organization.js';
import { StudioCompany } from './directory/StudioCompany.js';
import { SystemGroup } from './directory/SystemGroup.js';
import { User } from './directory/User.js';
import { NOTIFICATION_TABLES } from './notifications/tables.js';
import { WEBHOOK_TABLES } from './webhooks/tables.js';
import { StepExecution } from './workflow/StepExecution.js';
import { WorkflowEvent } from './workflow/WorkflowEvent.js';
import { WorkflowExecution } from './workflow/WorkflowExecution.js';

export const entities = [
  ActivityEntry,
  Organization,
  User,
  BusinessUnit,
  BudgetPlan,
  BudgetLine,
  RemovedBudgetLine,
  BudgetSubmission,
  CellChange,
  RevokedToken,
  AccessToken,
  PasswordInvitation,
  SignInEvent,
  GridUpdate,
  GridSnapshot,
  StudioCompany,
  SystemGroup,
  AccessGrant,
  WorkflowExecution,
  StepExecution,
  WorkflowEvent,
];

/**
 * Tables that migrations make but no entity maps, because a library reads and writes them (the sign-in
 * limits' counters, rate-limiter-flexible's shape): a schema diff (scripts/create-migration.mjs) leaves them
 * alone instead of proposing to drop them.
 */
export const unmappedTables = [SIGN_IN_LIMIT_TABLE, ...WEBHOOK_TABLES, ...NOTIFICATION_TABLES, ...SUBMISSION_VERSION_TABLES];
