/**
 * The migrations, in order. Listed explicitly (rather than found by a glob at run time) so that the same
 * list works from the TypeScript sources under test and from the compiled build under `npm start`.
 * Add one with `npm run build -w server && node scripts/create-migration.mjs <Name>`, then list it here.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261121055827_Initial } from './Migration20261121055827_Initial.js';
import { Migration20261121060256_GridStorage } from './Migration20261121060256_GridStorage.js';
import { Migration20261121061656_Workflows } from './Migration20261121061656_Workflows.js';
import { Migration20261203080637_SignInLimitsAndRevokedTokens } from './Migration20261203080637_SignInLimitsAndRevokedTokens.js';
import { Migration20261203114340_SignInLimitTable } from './Migration20261203114340_SignInLimitTable.js';
import { Migration20261203130200_PlanStatus } from './Migration20261203130200_PlanStatus.js';
import { Migration20261203130000_ActivityLog } from './Migration20261203130000_ActivityLog.js';
import { Migration20261203131500_People } from './Migration20261203131500_People.js';
import { Migration20261203150000_PlanLines } from './Migration20261203150000_PlanLines.js';
import { Migration20261203150100_Totp } from './Migration20261203150100_Totp.js';
import { Migration20261203150200_AwaitingAccess } from './Migration20261203150200_AwaitingAccess.js';
import { Migration20261203150210_RoleFromGroups } from './Migration20261203150210_RoleFromGroups.js';
import { Migration20261203160200_Webhooks } from './Migration20261203160200_Webhooks.js';
import { Migration20261203160000_AccessTokens } from './Migration20261203160000_AccessTokens.js';
import { Migration20261203170200_ServiceAccountEntraApp } from './Migration20261203170200_ServiceAccountEntraApp.js';
import { Migration20261203170300_ImportSource } from './Migration20261203170300_ImportSource.js';
import { Migration20261203171000_LineOrderIndex } from './Migration20261203171000_LineOrderIndex.js';
import { Migration20261203172000_RestoreSource } from './Migration20261203172000_RestoreSource.js';
import { Migration20261203173000_AuditLogFilters } from './Migration20261203173000_AuditLogFilters.js';
import { Migration20261203180000_Notifications } from './Migration20261203180000_Notifications.js';
import { Migration20261203190000_ReviewLoop } from './Migration20261203190000_ReviewLoop.js';
import { Migration20261203190100_ReviewLoopWebhook } from './Migration20261203190100_ReviewLoopWebhook.js';
import { Migration20261204040305_Offboarding } from './Migration20261204040305_Offboarding.js';
import { Migration20261204043000_OffboardingNotifications } from './Migration20261204043000_OffboardingNotifications.js';
import { Migration20261206060000_WebhookOutboxNotify } from './Migration20261206060000_WebhookOutboxNotify.js';
import { Migration20261206220000_NotificationSubjectsAndAnsweredSteps } from './Migration20261206220000_NotificationSubjectsAndAnsweredSteps.js';
import { Migration20261207080000_AuditPlan } from './Migration20261207080000_AuditPlan.js';

export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261121055827_Initial', class: Migration20261121055827_Initial },
  { name: 'Migration20261121060256_GridStorage', class: Migration20261121060256_GridStorage },
  { name: 'Migration20261121061656_Workflows', class: Migration20261121061656_Workflows },
  { name: 'Migration20261203080637_SignInLimitsAndRevokedTokens', class: Migration20261203080637_SignInLimitsAndRevokedTokens },
  { name: 'Migration20261203114340_SignInLimitTable', class: Migration20261203114340_SignInLimitTable },
  { name: 'Migration20261203130000_ActivityLog', class: Migration20261203130000_ActivityLog },
  { name: 'Migration20261203130200_PlanStatus', class: Migration20261203130200_PlanStatus },
  { name: 'Migration20261203131500_People', class: Migration20261203131500_People },
  { name: 'Migration20261203150000_PlanLines', class: Migration20261203150000_PlanLines },
  { name: 'Migration20261203150100_Totp', class: Migration20261203150100_Totp },
  { name: 'Migration20261203150200_AwaitingAccess', class: Migration20261203150200_AwaitingAccess },
  { name: 'Migration20261203150210_RoleFromGroups', class: Migration20261203150210_RoleFromGroups },
  { name: 'Migration20261203160200_Webhooks', class: Migration20261203160200_Webhooks },
  { name: 'Migration20261203160000_AccessTokens', class: Migration20261203160000_AccessTokens },
  { name: 'Migration20261203170200_ServiceAccountEntraApp', class: Migration20261203170200_ServiceAccountEntraApp },
  { name: 'Migration20261203170300_ImportSource', class: Migration20261203170300_ImportSource },
  { name: 'Migration20261203171000_LineOrderIndex', class: Migration20261203171000_LineOrderIndex },
  { name: 'Migration20261203172000_RestoreSource', class: Migration20261203172000_RestoreSource },
  { name: 'Migration20261203173000_AuditLogFilters', class: Migration20261203173000_AuditLogFilters },
  { name: 'Migration20261203180000_Notifications', class: Migration20261203180000_Notifications },
  { name: 'Migration20261203190000_ReviewLoop', class: Migration20261203190000_ReviewLoop },
  { name: 'Migration20261203190100_ReviewLoopWebhook', class: Migration20261203190100_ReviewLoopWebhook },
  { name: 'Migration20261204040305_Offboarding', class: Migration20261204040305_Offboarding },
  { name: 'Migration20261204043000_OffboardingNotifications', class: Migration20261204043000_OffboardingNotifications },
  { name: 'Migration20261206060000_WebhookOutboxNotify', class: Migration20261206060000_WebhookOutboxNotify },
  { name: 'Migration20261206220000_NotificationSubjectsAndAnsweredSteps', class: Migration20261206220000_NotificationSubjectsAndAnsweredSteps },
  { name: 'Migration20261207080000_AuditPlan', class: Migration20261207080000_AuditPlan },
];
