/** Every MikroORM entity, listed once so the ORM, the migrations and the tests agree on the model. */
import { LoginThrottle } from './auth/LoginThrottle.js';
import { RevokedToken } from './auth/RevokedToken.js';
import { SignInRate } from './auth/SignInRate.js';
import { SignInEvent } from './auth/SignInEvent.js';
import { BudgetLine } from './budget/BudgetLine.js';
import { BudgetPlan } from './budget/BudgetPlan.js';
import { BudgetSubmission } from './budget/BudgetSubmission.js';
import { BusinessUnit } from './budget/BusinessUnit.js';
import { CellChange } from './budget/CellChange.js';
import { GridSnapshot } from './collab/GridSnapshot.js';
import { GridUpdate } from './collab/GridUpdate.js';
import { AccessGrant } from './directory/AccessGrant.js';
import { Organization } from './directory/Organization.js';
import { StudioCompany } from './directory/StudioCompany.js';
import { SystemGroup } from './directory/SystemGroup.js';
import { User } from './directory/User.js';
import { StepExecution } from './workflow/StepExecution.js';
import { WorkflowEvent } from './workflow/WorkflowEvent.js';
import { WorkflowExecution } from './workflow/WorkflowExecution.js';

export const entities = [
  Organization,
  User,
  BusinessUnit,
  BudgetPlan,
  BudgetLine,
  BudgetSubmission,
  CellChange,
  LoginThrottle,
  SignInRate,
  RevokedToken,
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
